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
from collections.abc import Mapping
from typing import NamedTuple

import regex

from extractors import safe_regex
from extractors.checks import Compiled, Hit, Judge, Result
from extractors.core.errors import RulesError
from extractors.cues import Cues
from extractors.heap import release_freed_memory
from extractors.normalise import Context
from extractors.prefilter import Triggers
from extractors.rules import Grammar, Rule, RuleSet
from extractors.tokenize import Language, Matcher, MatchPatternError, PhraseMatcher, Vocab, blank

log = logging.getLogger(__name__)
_DEFAULT_GRAMMAR = Grammar()
_new = tuple.__new__  # _new(Hit, (...)) builds a Hit without the Python-level __new__ of a NamedTuple
_SENTENCE_END = frozenset(".?!\n。？！")  # what the gap between the hits of an `all` rule may not hold
_COMBINED = 1_000_000  # the source number of a combined rule's hits: after every regex's (see Hit.seq)


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
        self.regexes: list[tuple[Compiled, regex.Pattern[str]]] = []
        self.canonical: dict[str, str] = {}
        grammar = ruleset.grammar.get(lang) or ruleset.grammar.get("en") or _DEFAULT_GRAMMAR
        self.judge = Judge(Cues(grammar), [c for c in self.compiled.values() if not c.sub])
        errors: list[str] = []
        # each rule with its phrase and vocabulary terms (case-sensitive, case-insensitive), kept for renewals
        self._token_rules = [(rule, *self._terms(rule, ruleset)) for rule in rules if rule.patterns or rule.phrases or rule.vocab]
        self.tokens = self._tokens(blank(lang), errors)
        for rule in rules:
            flags = regex.V0 if rule.case_sensitive else regex.IGNORECASE | regex.V0
            for pattern in rule.regex:
                try:
                    self.regexes.append((self.compiled[rule.id], safe_regex.compile_bounded(pattern, flags)))
                except safe_regex.UnsafePattern as e:
                    errors.append(f"rule {rule.id} [regex] {e}")
        for c in self.compiled.values():
            c.link(self.compiled)
        if errors:
            raise RulesError(errors)
        # parts that some token rule (patterns, phrases, vocab) reads: only these are tokenized
        self.token_parts = frozenset(p for r, _, _ in self._token_rules for p in r.parts)
        self.triggers = Triggers([rule.rule.trigger for rule, _ in self.regexes])
        self.bounded = [rule.id not in ruleset.reviewed for rule, _ in self.regexes]  # overlay rules keep the timeout
        self.v_group = [p.groupindex.get("v", 0) for _, p in self.regexes]  # the number of the value group, or 0

    @property
    def nlp(self) -> Language:
        return self.tokens.nlp

    def _tokens(self, nlp: Language, errors: list[str]) -> Tokens:
        matcher = Matcher(nlp.vocab, validate=True)
        phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        phrases_cs = PhraseMatcher(nlp.vocab, attr="ORTH")
        make = nlp.make_doc
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
            vocab = ruleset.vocab[name]
            ci_terms.extend(vocab.terms)
            cs_terms.extend(vocab.case_sensitive)
            for variant, canonical in vocab.canonical.items():
                self.canonical[variant.lower()] = canonical
            for t in vocab.terms + vocab.case_sensitive:
                self.canonical.setdefault(t.lower(), t)
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
        for matcher in (tokens.matcher, tokens.phrases, tokens.phrases_cs):
            if len(matcher) == 0:
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

    def regex_hits(self, i: int, pos: int, part: str, text: str) -> list[Hit]:
        """The hits of regex i on the part at position `pos`."""
        rule, pattern = self.regexes[i]
        out: list[Hit] = []
        v = self.v_group[i]
        for j, m in enumerate(safe_regex.finditer(pattern, text, self.bounded[i])):
            s, e = m.span()
            if v:
                a, b = m.span(v)
                if a < 0:
                    a, b = s, e
            else:
                a, b = s, e
            out.append(_new(Hit, (rule, part, a, b, s, e, (pos, i + 1, j))))
        return out


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
        # where the regexes of each rule may match: (regex, part position, part, text), in the order of the
        # parts, then of the regexes
        self._sites: dict[Compiled, list[tuple[int, int, str, str]]] = {}
        rule_of = eng.regexes
        for pos, part, text in self.parts:
            for i in sorted(eng.triggers.select(text)):
                rule = rule_of[i][0]
                if part in rule.parts:
                    self._sites.setdefault(rule, []).append((i, pos, part, text))
        self.live = self._live()  # the rules that may have hits

    def _live(self) -> set[Compiled]:
        live = set(self._token) | set(self._sites)
        combined = [c for c in self.eng.compiled.values() if c.combines]
        grew = True
        while grew:  # sub-rules before the rules combining them, however deep
            grew = False
            for c in combined:
                if c not in live and (all(s in live for s in c.all) if c.all else any(s in live for s in c.any)):
                    live.add(c)
                    grew = True
        return live

    def rule_hits(self, rule: Compiled) -> list[Hit]:
        """Every hit of a rule: its token hits, its regexes' in every part it reads, or its sub-rules' combined."""
        hits = self._memo.get(rule)
        if hits is None:
            hits = list(self._token.get(rule, ()))
            if rule in self.live:
                if rule.combines:
                    hits += self._combined(rule)
                else:
                    for i, pos, part, text in self._sites.get(rule, ()):
                        hits += self.eng.regex_hits(i, pos, part, text)
            self._memo[rule] = hits
        return hits

    def _combined(self, rule: Compiled) -> list[Hit]:
        if rule.any:
            subs = sorted((h for s in rule.any for h in self.rule_hits(s) if h.part in rule.parts), key=_in_text)
            return [_new(Hit, (rule, h.part, h.start, h.end, h.match_start, h.match_end, (h.seq[0], _COMBINED + rule.n, j)))
                    for j, h in enumerate(subs)]
        by_sub = [sorted((h for h in self.rule_hits(s) if h.part in rule.parts), key=_in_text) for s in rule.all]
        out: list[Hit] = []
        taken_end: dict[str, int] = {}
        for first in by_sub[0]:
            if first.match_start < taken_end.get(first.part, -1):
                continue  # overlaps the combined hit before it
            chain = [first]
            for hits in by_sub[1:]:
                nxt = self._next(chain[-1], hits, rule.within)
                if nxt is None:
                    break
                chain.append(nxt)
            else:
                value = chain[rule.value_at] if rule.value_at is not None else None
                a, b = (value.start, value.end) if value is not None else (first.match_start, chain[-1].match_end)
                out.append(_new(Hit, (rule, first.part, a, b, first.match_start, chain[-1].match_end,
                                      (first.seq[0], _COMBINED + rule.n, len(out)))))
                taken_end[first.part] = chain[-1].match_end
        return out

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
        out = [h for c in self.eng.compiled.values() if not c.sub and c in self.live for h in self.rule_hits(c)]
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
        ctx = Context(date=date or dt.date.today(), language=eng.lang, canonical=eng.canonical)
        result = eng.judge.decide(Scan(eng, parts), ctx)
        if eng.renew_if_grown():
            log.info("Rules for %r: tokenizer vocabulary renewed after %d new words", eng.lang, eng.vocab_growth)
        return result
