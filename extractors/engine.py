"""The rule engine: one spaCy Matcher, two PhraseMatchers and bounded regexes per language.

Every candidate span passes the same checks before it becomes a Finding: the part it was found in, the sentence
it stands in (a capability question or a negation is not a statement), required and excluded context words, and
the rule's value normaliser (a span that does not normalise is not concrete enough); see `checks`.

Speed (about 4.2 million machine instructions for a rich 1 KB inquiry with the hot modules compiled, 4.67 million
from source: 0.44-1.4 ms on one core depending on the machine, spread over spaCy's tokenizer, the regex engine,
Hyperscan, the checks and phonenumbers): a part is tokenized once and only when a token rule applies to it; one
Hyperscan pass per part says which regexes can match and where (`multiscan`; trigger words where Hyperscan cannot
read a regex or is not installed, see `prefilter`), so a rule's regexes run only on the stretches just before their
candidates (a rule with none is not live in the scan), and only while their hits could still decide an item
(`checks`); on ASCII text a case-insensitive regex runs as its case-sensitive twin on the lowercased text
(`casefold`); shipped rules run without the regex timeout (overlay rules keep it).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import NamedTuple

import regex
from spacy.errors import MatchPatternError
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher

from extractors import safe_regex
from extractors.casefold import ascii_twin
from extractors.checks import Compiled, Hit, Judge, Result
from extractors.core.errors import RulesError
from extractors.cues import Cues
from extractors.heap import release_freed_memory
from extractors.normalise import Context
from extractors.patterns import derive
from extractors.prefilter import Plan, Prefilter
from extractors.rules import PARTS, Grammar, Rule, RuleSet
from extractors.tokenize import blank

log = logging.getLogger(__name__)
_DEFAULT_GRAMMAR = Grammar()
_new = tuple.__new__  # _new(Hit, (...)) builds a Hit without the Python-level __new__ of a NamedTuple


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

    def __init__(self, lang: str, rules: list[Rule], ruleset: RuleSet, vocab_growth: int = VOCAB_GROWTH, multiscan: bool = True):
        self.lang = lang
        self.vocab_growth = vocab_growth
        self.compiled = {r.id: Compiled(r) for r in rules}
        self.regexes: list[tuple[Compiled, regex.Pattern[str]]] = []
        self.canonical: dict[str, str] = {}
        grammar = ruleset.grammar.get(lang) or ruleset.grammar.get("en") or _DEFAULT_GRAMMAR
        self.judge = Judge(Cues(grammar), list(self.compiled.values()))
        errors: list[str] = []
        # each rule with its phrase and vocabulary terms (case-sensitive, case-insensitive), kept for renewals
        self._token_rules = [(rule, *self._terms(rule, ruleset)) for rule in rules]
        self.tokens = self._tokens(blank(lang), errors)
        for rule in rules:
            self._add_regexes(rule)
        if errors:
            raise RulesError(errors)
        # parts that some token rule (patterns, phrases, vocab) reads: only these are tokenized
        self.token_parts = frozenset(p for r in rules if r.patterns or r.phrases or r.vocab for p in r.parts)
        self.prefilter = Prefilter(
            [tuple(rule.rule.trigger) or derive([p.pattern]) for rule, p in self.regexes],
            [p for _, p in self.regexes],
            multiscan=multiscan,
            explicit=frozenset(i for i, (rule, _) in enumerate(self.regexes) if rule.rule.trigger),
        )
        self.bounded = [rule.id not in ruleset.reviewed for rule, _ in self.regexes]  # overlay rules keep the timeout
        self.v_group = [p.groupindex.get("v", 0) for _, p in self.regexes]  # the number of the value group, or 0
        self.twins = [ascii_twin(p) for _, p in self.regexes]
        self.regexes_of = {p: [i for i, (rule, _) in enumerate(self.regexes) if p in rule.parts] for p in PARTS}
        self.regex_sets_of = {p: frozenset(indices) for p, indices in self.regexes_of.items()}
        self.rule_of_regex = [rule for rule, _ in self.regexes]

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
            if rule.patterns or cs_terms or ci_terms:
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

    def _add_regexes(self, rule: Rule) -> None:
        flags = regex.V0 if rule.case_sensitive else regex.IGNORECASE | regex.V0
        for pattern in rule.regex:
            self.regexes.append((self.compiled[rule.id], safe_regex.compile_bounded(pattern, flags)))

    def token_hits(self, pos: int, part: str, text: str) -> list[Hit]:
        """The hits of the token rules (patterns, phrases, vocab) on the part at position `pos` of the message."""
        out: list[Hit] = []
        if part not in self.token_parts:
            return out
        tokens = self.tokens
        doc = tokens.nlp.make_doc(text)
        rule_of = tokens.rule_of
        end_of_text = len(text)
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
                    out.append(_new(Hit, (rule, part, a, b, a, (pos, 0, len(out)))))
        return out

    def regexes_on(self, part: str) -> list[int]:
        """The regexes (indices) that read a part."""
        candidates = self.regexes_of.get(part)
        if candidates is None:  # a part name outside PARTS: every rule that lists it
            candidates = [i for i, (rule, _) in enumerate(self.regexes) if part in rule.parts]
        return candidates

    def regex_hits(self, i: int, pos: int, part: str, text: str, plan: Plan) -> list[Hit]:
        """The hits of regex i (one the plan selects) on the part at position `pos`."""
        rule, pattern = self.regexes[i]
        regions = plan.regions(i, len(text))
        if (twin := self.twins[i]) is not None and text.isascii():
            pattern, text = twin, plan.low  # the same matches, found faster (see `casefold`)
        out: list[Hit] = []
        v = self.v_group[i]
        for j, m in enumerate(safe_regex.finditer(pattern, text, regions, self.bounded[i])):
            s = m.start()
            if v:
                a, b = m.span(v)
                if a < 0:
                    a, b = s, m.end()
            else:
                a, b = s, m.end()
            out.append(_new(Hit, (rule, part, a, b, s, (pos, i + 1, j))))
        return out


class Scan:
    """The hits in one message's parts: the token rules' at once, a regex rule's when first asked for."""

    def __init__(self, eng: LanguageEngine, parts: Mapping[str, str]):
        self.eng = eng
        self.texts = parts
        self.parts = [(pos, part, text) for pos, (part, text) in enumerate(parts.items()) if text]
        self.token_hits = [h for pos, part, text in self.parts for h in eng.token_hits(pos, part, text)]
        self._plans: dict[int, Plan] = {}
        self._regex_hits: dict[tuple[int, int], list[Hit]] = {}
        # where the regexes of each rule may match: (regex, part position, part, text) in the order of the parts,
        # then of the regexes; the rules with none have no hits
        self._sites: dict[Compiled, list[tuple[int, int, str, str]]] = {}
        rule_of = eng.rule_of_regex
        for pos, part, text in self.parts:
            candidates = eng.regex_sets_of.get(part)
            if candidates is None:  # a part name outside PARTS
                candidates = frozenset(eng.regexes_on(part))
            if candidates:
                for i in sorted(candidates.intersection(self._plan(pos, text).selected)):
                    self._sites.setdefault(rule_of[i], []).append((i, pos, part, text))
        self.live: set[Compiled] = set(self._sites)  # the rules that may have regex hits

    def rule_hits(self, rule: Compiled) -> list[Hit]:
        """The hits of a rule's regexes in every part it reads."""
        out: list[Hit] = []
        for i, pos, part, text in self._sites.get(rule, ()):
            out += self._hits(i, pos, part, text, self._plans[pos])
        return out

    def all_hits(self) -> list[Hit]:
        """Every hit: part by part, the token rules' and then each regex's in turn."""
        out: list[Hit] = []
        for pos, part, text in self.parts:
            out += (h for h in self.token_hits if h.seq[0] == pos)
            candidates = self.eng.regexes_on(part)
            plan = self._plan(pos, text) if candidates else None
            for i in candidates:
                if plan is not None and i in plan.selected:
                    out += self._hits(i, pos, part, text, plan)
        return out

    def _plan(self, pos: int, text: str) -> Plan:
        plan = self._plans.get(pos)
        if plan is None:
            plan = self._plans[pos] = self.eng.prefilter.plan(text)
        return plan

    def _hits(self, i: int, pos: int, part: str, text: str, plan: Plan) -> list[Hit]:
        hits = self._regex_hits.get((pos, i))
        if hits is None:
            hits = self._regex_hits[(pos, i)] = self.eng.regex_hits(i, pos, part, text, plan)
        return hits


class Engine:
    """Compiled rules for every language; `run` turns message parts into findings and signals."""

    def __init__(self, ruleset: RuleSet, vocab_growth: int = VOCAB_GROWTH, multiscan: bool = True):
        """`multiscan`: find where the regexes may match with Hyperscan when it is installed (see `multiscan`);
        without it, by trigger words alone. Both find the same."""
        self.ruleset = ruleset
        self.languages = {
            lang: LanguageEngine(lang, rules, ruleset, vocab_growth, multiscan) for lang, rules in ruleset.rules.items()
        }

    def prepare(self) -> None:
        """Compile now what is otherwise compiled for a language's first message (its Hyperscan database)."""
        for eng in self.languages.values():
            if eng.prefilter.multiscan is not None:
                eng.prefilter.multiscan.prepare()

    def for_language(self, lang: str) -> LanguageEngine:
        return self.languages.get(lang) or self.languages.get("en") or next(iter(self.languages.values()))

    def run(self, parts: Mapping[str, str], language: str, date: dt.date | None = None) -> Result:
        eng = self.for_language(language)
        ctx = Context(date=date or dt.date.today(), language=eng.lang, canonical=eng.canonical)
        result = eng.judge.decide(Scan(eng, parts), ctx)
        if eng.renew_if_grown():
            log.info("Rules for %r: tokenizer vocabulary renewed after %d new words", eng.lang, eng.vocab_growth)
        return result
