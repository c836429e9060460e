"""Everything the pure stages need, loaded once from rules, templates and the seller profile (and reloadable)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from daemon import seller as seller_mod
from daemon.assess import Decisions
from daemon.config import Config
from daemon.drafting import Drafter, Labels, check_templates, load_labels, make_environment, templates_dir
from daemon.parse.platforms import Platforms
from daemon.seller import Seller
from extractors import rules as rules_mod
from extractors.body_items import load_words
from extractors.checklist import Extractor
from extractors.tables import load_headers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Toolkit:
    """Compiled rules, decisions, templates and seller profile; replaced whole on reload."""

    extractor: Extractor
    platforms: Platforms
    decisions: Decisions
    labels: Labels
    seller: Seller
    drafter: Drafter | None

    @property
    def rules_version(self) -> str:
        return self.extractor.version


def load_toolkit(cfg: Config, identity: str | None = None, quiet: bool = False, drafts: bool = True) -> Toolkit:
    """Load and compile everything (templates only with `drafts`); raise RulesError naming file and key."""
    shipped = rules_mod.shipped_dir()
    overlay = cfg.path(cfg.rules.overlay) if cfg.rules.overlay else None
    ruleset = rules_mod.load(overlay=overlay)
    seller = seller_mod.load(cfg.path(cfg.seller.profile) if cfg.seller.profile else None)
    own = tuple(dict.fromkeys(list(seller.own_domains) + [d.lower() for d in cfg.seller.own_domains]))
    platforms_file = overlay / "platforms.toml" if overlay and (overlay / "platforms.toml").is_file() else shipped / "platforms.toml"
    decisions_file = overlay / "decisions.toml" if overlay and (overlay / "decisions.toml").is_file() else shipped / "decisions.toml"
    platforms = Platforms.load(platforms_file)
    decisions = Decisions.load(decisions_file)
    extractor = Extractor(ruleset, policy=decisions.policy, own_domains=own, headers=load_headers(overlay),
                          words=load_words(overlay))
    labels = load_labels(shipped)
    drafter = None
    if drafts:
        folders = [p for p in (overlay / "templates" if overlay else None, templates_dir()) if p is not None and p.is_dir()]
        env = make_environment(folders)
        check_templates(env)
        drafter = Drafter(seller, labels, env, identity, note_on_verify=decisions.risk.note,
                          risk_signs=tuple(decisions.risk.signs))
        drafter.platforms, drafter.own_domains = platforms, extractor.own_domains
    if not quiet:
        log.info(
            "Loaded %d rules from %d files (%s), rules version %s",
            ruleset.count(), len(ruleset.files), ", ".join(ruleset.languages), ruleset.version,
        )
    return Toolkit(extractor, platforms, decisions, labels, seller, drafter)
