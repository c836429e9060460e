"""The rule engine: per language one spaCy Matcher, two PhraseMatchers and bounded regexes, built on first use.

Every candidate span passes the same checks before it becomes a Finding: the part it was found in, the sentence
it stands in (a capability question or a negation is not a statement), required and excluded context (words in
the sentence, sub-rules nearby), and the rule's value normaliser (a span that does not normalise is not concrete
enough); see `checks`.

A rule's hits come from its own matchers (regex, phrases, vocabularies, token patterns) or from sub-rules it
combines (`all`: one hit of each, in order, each at most `within` characters after the one before with no
sentence end between; `any`: the hits of any). A part is tokenized once and only when a token rule reads it; a
rule's regexes run only when the checks ask for its hits (while they could still decide an item), and only on a
part that holds one of its trigger words (`prefilter`); shipped rules run without the regex timeout (overlay
rules keep it).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import regex

from extractors import safe_regex
from extractors.checks import Compiled, Hit, Judge, Result
from extractors.core.errors import RulesError
from extractors.cues import Cues
from extractors.heap import release_freed_memory
from extractors.normalise import Context
from extractors.prefilter import Leads, Places, Triggers
from extractors.rules import Grammar, Rule, RuleSet
from extractors.tokenize import Language, Matcher, MatchPatternError, PhraseMatcher, Vocab, blank

log = logging.getLogger(__name__)
_DEFAULT_GRAMMAR = Grammar()
_new = tuple.__new__  # _new(Hit, (...)) builds a Hit without the Python-level __new__ of a NamedTuple
_SENTENCE_END = frozenset(".?!\n。？！")  # what the gap between the hits of an `all` rule may not hold
_ATTEMPT = 24  # one match attempt costs about as much as scanning this many characters
_INLINE_FLAGS = regex.compile(r"\(\?[a-zA-Z]+\)")


# spaCy's vocabulary keeps every word it has tokenized, and its tokenizer caches every chunk: up to about 1 KB of
# memory per new word, which over months of real mail (order numbers, model codes, names) is hundreds of MB. Once a
# language has seen this many new words, its pipeline and matchers are built afresh on a new vocabulary (about
# 0.2 s) and the old one is freed: the daemon's memory stays within a band of a few MB.
VOCAB_GROWTH = 5_000


class Tokens(NamedTuple):
    """A language's spaCy pipeline and the token rules' matchers on its vocabulary, swapped as one."""

    nlp: Language
    matcher: Matcher
    phrases: PhraseMatcher  # case-insensitive phrases and vocabularies
    phrases_cs: PhraseMatcher  # case-sensitive ones
    rule_of: dict[int, Compiled]  # match id -> its rule
    base: int  # words in the vocabulary once the matchers are built


class LanguageEngine:
    """The compiled matchers for one language."""

    def __init__(self, lang: str, rules: list[Rule], ruleset: RuleSet, vocab_growth: int = VOCAB_GROWTH):
        self.lang = lang
        self.vocab_growth = vocab_growth
        self.compiled = {r.id: Compiled(r, n) for n, r in enumerate(rules)}
        self.regexes = _Regexes()
        self.canonical: dict[str, str] = {}
        self.months = ruleset.months(lang)  # for the date normaliser
        grammar = ruleset.grammar.get(lang) or ruleset.grammar.get("en") or _DEFAULT_GRAMMAR
        self.judge = Judge(Cues(grammar), [c for c in self.compiled.values() if not c.sub])
        errors: list[str] = []
        # each rule with its phrase and vocabulary terms (case-sensitive, case-insensitive), kept for renewals
        self._token_rules = [(rule, *self._terms(rule, ruleset)) for rule in rules if rule.patterns or rule.phrases or rule.vocab]
        self.tokens = self._tokens(blank(lang), errors)
        for rule in rules:
            flags = regex.V0 if rule.case_sensitive else regex.IGNORECASE | regex.V0
            for pattern in rule.regex:
                self.regexes.add(self.compiled[rule.id], pattern, flags)
        for c in self.compiled.values():
            c.link(self.compiled)
        if errors:
            raise RulesError(errors)
        # parts that some token rule (patterns, phrases, vocab) reads: only these are tokenized
        self.token_parts = frozenset(p for r, _, _ in self._token_rules for p in r.parts)
        # the token-pattern Matcher runs on a part only when a pattern rule reading it may match there: it has no
        # trigger words, or one of them is in the part (spaCy's Matcher costs about 0.3 ms on 1 KB)
        pattern_rules = [r for r, _, _ in self._token_rules if r.patterns]
        self.pattern_triggers = {p: Triggers([r.trigger for r in pattern_rules if p in r.parts]) for p in self.token_parts}
        self.triggers = Triggers([rule.rule.trigger for rule in self.regexes.rules])
        # for each regex that opens with a word fragment: where its matches can start
        self.leads: list[Leads | None] = []
        for r in rules:
            for words in ruleset.leads.get((lang, r.id), [None] * len(r.regex)):
                self.leads.append(None if words is None else Leads(words, caseless=not r.case_sensitive))
        self.bounded = [rule.id not in ruleset.reviewed for rule in self.regexes.rules]  # overlay rules keep the timeout
        self.regexes_of: dict[Compiled, list[int]] = {}
        for i, c in enumerate(self.regexes.rules):
            self.regexes_of.setdefault(c, []).append(i)
        # the source number of each rule's hits (Hit.seq), in the order of the rules: 2(i + 1) for regex i, odd for
        # a rule that combines sub-rules (its place among the regexes); ties between equal findings go to the first
        self.source: dict[Compiled, int] = {}
        before = 0
        for c in self.compiled.values():
            if c.combines:
                self.source[c] = 2 * before + 1
            before += len(c.rule.regex)
        self._followers: dict[tuple[int, int], regex.Pattern[str] | None] = {}
        # rules of regexes alone (none with inline flags): matched right after the hit before them in an `all` rule
        self.followable = frozenset(r.id for r, idx in self.regexes_of.items() if not r.rule.patterns and not r.rule.phrases
                                    and not r.rule.vocab and not any(_INLINE_FLAGS.match(self.regexes.sources[i]) for i in idx))

    @property
    def nlp(self) -> Language:
        return self.tokens.nlp

    def _tokens(self, nlp: Language, errors: list[str]) -> Tokens:
        matcher = Matcher(nlp.vocab, validate=True)
        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        phrases_cs = PhraseMatcher(nlp.vocab, attr="ORTH")
        docs: dict[str, Any] = {}  # a term shared by rules (a vocabulary read by several) is tokenized once

        def make(term: str) -> Any:
            doc = docs.get(term)
            if doc is None:
                doc = docs[term] = nlp.make_doc(term)
            return doc

        rule_of: dict[int, Compiled] = {}
        for rule, cs_terms, ci_terms in self._token_rules:
            rule_of[nlp.vocab.strings.add(rule.id)] = self.compiled[rule.id]
            if rule.patterns:
                try:
                    matcher.add(rule.id, rule.patterns)
                except (MatchPatternError, ValueError, KeyError) as e:
                    errors.append(f"rule {rule.id} [patterns] {str(e).strip()}")
            if ci_terms:
                phrases.add(rule.id, [make(t) for t in ci_terms])
            if cs_terms:
                phrases_cs.add(rule.id, [make(t) for t in cs_terms])
        return Tokens(nlp, matcher, phrases, phrases_cs, rule_of, len(nlp.vocab))

    def _terms(self, rule: Rule, ruleset: RuleSet) -> tuple[list[str], list[str]]:
        """A rule's phrases and vocabulary terms, (case-sensitive, case-insensitive); notes their canonical forms."""
        cs_terms: list[str] = []
        ci_terms: list[str] = list(rule.phrases)
        for name in rule.vocab:
            vocab = ruleset.vocab_terms(name, self.lang)
            ci_terms.extend(vocab.terms)
            cs_terms.extend(vocab.case_sensitive)
            self.canonical.update(vocab.explicit)
            for term, canonical in vocab.canonical.items():
                self.canonical.setdefault(term, canonical)
        if rule.case_sensitive:
            return cs_terms + ci_terms, []
        return cs_terms, ci_terms

    def renew_if_grown(self) -> bool:
        """Build the pipeline and matchers afresh once the vocabulary has grown by `vocab_growth` words."""
        if len(self.tokens.nlp.vocab) - self.tokens.base <= self.vocab_growth:
            return False
        self.tokens = self._tokens(blank(self.lang), [])
        release_freed_memory()
        return True

    def token_hits(self, pos: int, part: str, text: str) -> dict[Compiled, list[Hit]]:
        """The hits of the token rules (patterns, phrases, vocab) on the part at position `pos`, by rule."""
        out: dict[Compiled, list[Hit]] = {}
        if part not in self.token_parts:
            return out
        tokens = self.tokens
        doc = tokens.nlp.make_doc(text)
        rule_of = tokens.rule_of
        end_of_text = len(text)
        n = 0
        triggers = self.pattern_triggers[part]
        for matcher in (tokens.matcher, tokens.phrases, tokens.phrases_cs):
            if len(matcher) == 0 or matcher is tokens.matcher and not triggers.select(text):
                continue
            for match_id, start, end in matcher(doc):
                rule = rule_of[match_id]
                if part in rule.parts:
                    # the character offsets of doc[start:end], as Span.start_char and Span.end_char
                    a = doc[start].idx if start < len(doc) else end_of_text
                    if start == end:
                        b = a
                    else:
                        last = doc[end - 1]
                        b = last.idx + len(last)
                    out.setdefault(rule, []).append(_new(Hit, (rule, part, a, b, a, b, (pos, 0, n))))
                    n += 1
        return out

    def regex_hits(self, i: int, pos: int, part: str, text: str, places: Places | None = None) -> list[Hit]:
        """The hits of regex i on the part at position `pos` (`places`: where its words and digits start)."""
        rule, pattern = self.regexes[i]
        out: list[Hit] = []
        v = pattern.groupindex.get("v", 0)  # the number of the value group, or 0
        lead = self.leads[i]
        starts = None if lead is None or places is None else places.starts(lead)
        if starts is not None and len(starts) * _ATTEMPT > len(text):
            starts = None  # so many places that one scan of the whole text costs less
        found = safe_regex.finditer(pattern, text, self.bounded[i]) if starts is None else \
            safe_regex.match_at(pattern, text, starts, self.bounded[i])
        for j, m in enumerate(found):
            s, e = m.span()
            if v:
                a, b = m.span(v)
                if a < 0:
                    a, b = s, e
            else:
                a, b = s, e
            out.append(_new(Hit, (rule, part, a, b, s, e, (pos, 2 * (i + 1), j))))
        return out


    def follower(self, i: int, within: int) -> regex.Pattern[str] | None:
        """Regex i preceded by a gap of at most `within` characters without a sentence end, to be matched right
        where a hit before it ends: what a scan of the whole part finds there, at the cost of one match (None for
        a regex with inline flags, which must stand at its start)."""
        key = (i, within)
        if key not in self._followers:
            pattern = self.regexes[i][1]
            source = self.regexes.sources[i]
            if _INLINE_FLAGS.match(source):
                self._followers[key] = None
            else:
                gap = "[^" + "".join(sorted(_SENTENCE_END)).replace("\n", "\\n") + "]"
                self._followers[key] = regex.compile(f"{gap}{{0,{within}}}?(?P<at_>{source})", pattern.flags)
        return self._followers[key]

    def follow(self, i: int, hit: Hit, text: str, within: int) -> Hit | None:
        """The first hit of regex i starting at most `within` characters after `hit` ends, no sentence end between."""
        pattern = self.follower(i, within)
        if pattern is None:
            return None
        try:
            m = pattern.match(text, hit.match_end, timeout=safe_regex.MATCH_TIMEOUT_S) if self.bounded[i] else pattern.match(text, hit.match_end)
        except TimeoutError:
            return None
        if m is None:
            return None
        s, e = m.span("at_")
        a, b = m.span("v") if "v" in pattern.groupindex and m.start("v") >= 0 else (s, e)
        return _new(Hit, (self.regexes.rules[i], hit.part, a, b, s, e, (hit.seq[0], 2 * (i + 1), s)))


class _Regexes:
    """A language's regexes, each compiled when first used (the rule set checked them all when it was loaded):
    regexes[i] is (rule, pattern)."""

    def __init__(self) -> None:
        self.rules: list[Compiled] = []
        self.sources: list[str] = []
        self._flags: list[int] = []
        self._compiled: list[regex.Pattern[str] | None] = []

    def add(self, rule: Compiled, source: str, flags: int) -> None:
        self.rules.append(rule)
        self.sources.append(source)
        self._flags.append(flags)
        self._compiled.append(None)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, i: int) -> tuple[Compiled, regex.Pattern[str]]:
        pattern = self._compiled[i]
        if pattern is None:
            pattern = self._compiled[i] = regex.compile(self.sources[i], self._flags[i])
        return self.rules[i], pattern

    def __iter__(self) -> Iterator[tuple[Compiled, regex.Pattern[str]]]:
        return (self[i] for i in range(len(self.rules)))


class Scan:
    """The hits in one message's parts: the token rules' at once, a rule's regex or combined hits when first
    asked for."""

    def __init__(self, eng: LanguageEngine, parts: Mapping[str, str]):
        self.eng = eng
        self.texts = parts
        self.parts = [(pos, part, text) for pos, (part, text) in enumerate(parts.items()) if text]
        self._token: dict[Compiled, list[Hit]] = {}
        for pos, part, text in self.parts:
            for rule, hits in eng.token_hits(pos, part, text).items():
                self._token.setdefault(rule, []).extend(hits)
        self._memo: dict[Compiled, list[Hit]] = {}
        self._may: dict[Compiled, bool] = {}
        self._sites: dict[Compiled, list[tuple[int, int, str, str]]] = {}
        self._triggered: dict[int, frozenset[int] | set[int]] = {}
        self._lead_pos: dict[int, Places | None] = {}

    def sites(self, rule: Compiled) -> list[tuple[int, int, str, str]]:
        """Where the regexes of a rule may match: (regex, part position, part, text) for each part it reads that
        holds one of its trigger words and, when it opens with words or a digit, one of those; in the order of
        the parts, then of the regexes."""
        out = self._sites.get(rule)
        if out is not None:
            return out
        out = self._sites[rule] = []
        leads = self.eng.leads
        for pos, part, text in self.parts:
            if part not in rule.parts:
                continue
            selected = self._selected(pos, text)
            for i in self.eng.regexes_of.get(rule, ()):
                if i in selected and ((lead := leads[i]) is None or (places := self._places(pos, text)) is None or places.has(lead)):
                    out.append((i, pos, part, text))
        return out

    def may_hit(self, rule: Compiled) -> bool:
        """Whether a rule may have hits: token hits, a part where its regexes may match, or (a rule combining
        sub-rules) each of its `all` sub-rules or one of its `any` sub-rules may."""
        may = self._may.get(rule)
        if may is None:
            if rule in self._token:
                may = True
            elif rule.combines:
                may = all(map(self.may_hit, rule.all)) if rule.all else any(map(self.may_hit, rule.any))
            else:
                may = bool(self.sites(rule))
            self._may[rule] = may
        return may

    def rule_hits(self, rule: Compiled) -> list[Hit]:
        """Every hit of a rule: its token hits, its regexes' in every part it reads, or its sub-rules' combined."""
        hits = self._memo.get(rule)
        if hits is None:
            hits = list(self._token.get(rule, ()))
            if rule.combines:
                if self.may_hit(rule):
                    hits += self._combined(rule)
            elif rule in self.eng.regexes_of:
                for i, pos, part, text in self.sites(rule):
                    hits += self.eng.regex_hits(i, pos, part, text, self._places(pos, text))
            self._memo[rule] = hits
        return hits

    def _combined(self, rule: Compiled) -> list[Hit]:
        if rule.any:
            subs = sorted((h for s in rule.any for h in self.rule_hits(s) if h.part in rule.parts), key=_in_text)
            source = self.eng.source[rule]
            return [_new(Hit, (rule, h.part, h.start, h.end, h.match_start, h.match_end, (h.seq[0], source, j)))
                    for j, h in enumerate(subs)]
        first_hits = sorted((h for h in self.rule_hits(rule.all[0]) if h.part in rule.parts), key=_in_text)
        # a later sub-rule of regexes alone is matched right after the hit before it (see `follow`); any other
        # sub-rule's hits are looked up
        later: list[list[Hit] | Compiled] = [
            s if self._followable(s) else sorted((h for h in self.rule_hits(s) if h.part in rule.parts), key=_in_text)
            for s in rule.all[1:]
        ]
        out: list[Hit] = []
        taken_end: dict[str, int] = {}
        for first in first_hits:
            if first.match_start < taken_end.get(first.part, -1):
                continue  # overlaps the combined hit before it
            chain = [first]
            for step in later:
                nxt = self._follow(chain[-1], step, rule.within) if isinstance(step, Compiled) else self._next(chain[-1], step, rule.within)
                if nxt is None:
                    break
                chain.append(nxt)
            else:
                value = chain[rule.value_at] if rule.value_at is not None else None
                a, b = (value.start, value.end) if value is not None else (first.match_start, chain[-1].match_end)
                out.append(_new(Hit, (rule, first.part, a, b, first.match_start, chain[-1].match_end,
                                      (first.seq[0], self.eng.source[rule], len(out)))))
                taken_end[first.part] = chain[-1].match_end
        return out

    def _followable(self, rule: Compiled) -> bool:
        return not rule.combines and rule not in self._token and rule.id in self.eng.followable

    def _follow(self, before: Hit, rule: Compiled, within: int) -> Hit | None:
        """The first hit of a regex sub-rule starting after `before` ends, at most `within` characters later, no
        sentence end between (a part without one of its trigger words has none)."""
        if before.part not in rule.parts:
            return None
        text = self.texts[before.part]
        best = None
        for i in self.eng.regexes_of.get(rule, ()):
            if i not in self._selected(before.seq[0], text):
                continue
            h = self.eng.follow(i, before, text, within)
            if h is not None and (best is None or h.match_start < best.match_start):
                best = h
        return best

    def _places(self, pos: int, text: str) -> Places | None:
        """Where the words and digits of a part start (None when casefolding changes its length)."""
        if pos not in self._lead_pos:
            folded = text.casefold()
            self._lead_pos[pos] = Places(text, folded) if len(folded) == len(text) else None
        return self._lead_pos[pos]

    def _selected(self, pos: int, text: str) -> frozenset[int] | set[int]:
        sel = self._triggered.get(pos)
        if sel is None:
            sel = self._triggered[pos] = self.eng.triggers.select(text)
        return sel

    def _next(self, before: Hit, hits: list[Hit], within: int) -> Hit | None:
        """The first hit starting after `before` ends, at most `within` characters later, no sentence end between."""
        text = self.texts[before.part]
        end = before.match_end
        for h in hits:
            if h.part != before.part or h.match_start < end:
                continue
            if h.match_start - end > within or not _SENTENCE_END.isdisjoint(text[end : h.match_start]):
                return None
            return h
        return None

    def near(self, hit: Hit, rules: tuple[Compiled, ...], within: int) -> Compiled | None:
        """A sub-rule with a hit at most `within` characters before or after the hit (no sentence end between)."""
        text = self.texts[hit.part]
        for rule in rules:
            for h in self.rule_hits(rule):
                if h.part != hit.part:
                    continue
                lo, hi = (h.match_end, hit.match_start) if h.match_end <= hit.match_start else (hit.match_end, h.match_start)
                if hi <= lo or (hi - lo <= within and _SENTENCE_END.isdisjoint(text[lo:hi])):
                    return rule
        return None

    def all_hits(self) -> list[Hit]:
        """Every hit of every rule that feeds an item or signal, in text order."""
        out = [h for c in self.eng.compiled.values() if not c.sub for h in self.rule_hits(c)]
        return sorted(out, key=lambda h: h.seq)


def check_patterns(ruleset: RuleSet) -> None:
    """Raise RulesError naming every rule whose token patterns spaCy's Matcher refuses."""
    patterns = {(r.id, repr(r.patterns)): r for rules in ruleset.rules.values() for r in rules if r.patterns}
    if not patterns:
        return
    matcher = Matcher(Vocab(), validate=True)  # a bare vocabulary: spaCy checks the patterns
    errors = []
    for rule in patterns.values():
        try:
            matcher.add(rule.id, rule.patterns)
        except (MatchPatternError, ValueError, KeyError) as e:
            errors.append(f"{ruleset.origin.get(rule.id, '')} rule {rule.id} [patterns] {str(e).strip()}")
    if errors:
        raise RulesError(errors)


def _in_text(hit: Hit) -> tuple[int, int, int]:
    return hit.seq[0], hit.match_start, -hit.match_end


class Engine:
    """Compiled rules for every language, each built when its first message comes (or at `prepare`); `run`
    turns message parts into findings and signals."""

    def __init__(self, ruleset: RuleSet, vocab_growth: int = VOCAB_GROWTH):
        """Checks every token pattern now (spaCy validates them), so that a bad one is found at load or reload,
        not at the first message of its language."""
        self.ruleset = ruleset
        self.vocab_growth = vocab_growth
        self.languages: dict[str, LanguageEngine] = {}
        self._lock = threading.Lock()
        check_patterns(ruleset)

    def prepare(self, languages: list[str] | None = None) -> None:
        """Build the languages' matchers now (all of them by default) rather than for their first message."""
        for lang in languages if languages is not None else self.ruleset.languages:
            self.language(lang)

    def language(self, lang: str) -> LanguageEngine:
        eng = self.languages.get(lang)
        if eng is None:
            with self._lock:
                eng = self.languages.get(lang)
                if eng is None:
                    eng = self.languages[lang] = LanguageEngine(lang, self.ruleset.rules[lang], self.ruleset, self.vocab_growth)
        return eng

    def for_language(self, lang: str) -> LanguageEngine:
        rules = self.ruleset.rules
        name = lang if lang in rules else "en" if "en" in rules else next(iter(sorted(rules)))
        return self.language(name)

    def run(self, parts: Mapping[str, str], language: str, date: dt.date | None = None) -> Result:
        eng = self.for_language(language)
        ctx = Context(date=date or dt.date.today(), language=eng.lang, canonical=eng.canonical, months=eng.months)
        result = eng.judge.decide(Scan(eng, parts), ctx)
        if eng.renew_if_grown():
            log.info("Rules for %r: tokenizer vocabulary renewed after %d new words", eng.lang, eng.vocab_growth)
        return result
