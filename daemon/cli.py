"""The command line: run, explain, demo, db, rules, eval, drafts, status, customers, export, checklist, leads."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from daemon import __version__
from daemon import config as config_mod
from extractors.core.errors import ExitCode, TransientError, TriageError
from extractors.core.model import MessageKey, RawMessage

log = logging.getLogger("daemon")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, getattr(logging, level)))
    # mail-parser warns about every MIME part it does not decode itself (e.g. a bounce's rfc822-headers)
    logging.getLogger("mailparser").setLevel(max(logging.ERROR, getattr(logging, level)))


class _Group(click.Group):
    """Turns TriageError into its message and named exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TriageError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(int(e.exit_code))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inquiry-triage")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help=f"Configuration file (TOML). Default: ${config_mod.ENV_CONFIG}, else the embedded default "
                   "(./Maildir in, ./Maildir/.Drafts out, SQLite ./inquiry-triage.sqlite3).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default=None,
              help="Log level (default: the config's [daemon] log_level, INFO).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """Triage buyer inquiries in a sales mailbox and draft the right reply into Drafts.

    Exit codes: 0 ok, 2 bad configuration or rules, 3 mailbox or database unreachable.
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["log_level"] = log_level


def _config(ctx: click.Context) -> config_mod.Config:
    cfg = config_mod.load(ctx.obj.get("config_path"))
    _setup_logging(ctx.obj.get("log_level") or cfg.daemon.log_level)
    for line in cfg.readable_by_others():
        log.warning("%s", line)
    return cfg


def _mailboxes(cfg: config_mod.Config, store: Any = None) -> list[Any]:
    """One mailbox object per [[mailboxes]] entry; IMAP ones keep their checkpoints in the store."""
    from daemon.mailboxes.maildir import MaildirMailbox

    boxes: list[Any] = []
    for m in cfg.mailboxes:
        if m.kind == "maildir":
            boxes.append(MaildirMailbox(m.name, cfg.path(m.path), cfg.path(m.drafts),
                                        sent=cfg.path(m.sent) if m.sent is not None else None))
        else:
            from daemon.mailboxes.imap import ImapMailbox

            boxes.append(ImapMailbox(m, cfg, store))
    for box in boxes:
        box.digest_at = cfg.digest.at
        box.nurture_at = cfg.nurture.at if cfg.nurture.enabled else None
        box.nurture_every_days = cfg.nurture.every_days
    return boxes


def _store(cfg: config_mod.Config, upgrade: bool = True) -> Any:
    from daemon.store import Store

    store = Store(cfg.db_url)
    if upgrade:
        store.upgrade()
    store.ping()
    return store


def _kit(cfg: config_mod.Config, quiet: bool = False, drafts: bool = True) -> Any:
    """The rules, templates and seller profile (each language's matchers are built for its first message)."""
    from daemon.toolkit import load_toolkit

    identity = next((m.identity for m in cfg.mailboxes if m.identity), None)
    return load_toolkit(cfg, identity=identity, quiet=quiet, drafts=drafts)


@main.command()
@click.option("--once", is_flag=True, help="Process what is new in every mailbox once, then exit 0.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon: poll every mailbox on its interval and draft replies (SIGTERM stops, SIGHUP reloads)."""
    from daemon.health import Health
    from daemon.limits import Limits
    from daemon.metrics import NULL_METRICS, start_metrics
    from daemon.ownership import for_store
    from daemon.pipeline import KitRef
    from daemon.scheduler import Daemon

    cfg = _config(ctx)
    log.info("inquiry-triage %s, configuration: %s", __version__, cfg.source)
    store = _store(cfg)
    log.info("Store: %s", store.url_for_display)
    ownership = for_store(store, claim_seconds=cfg.daemon.claim_seconds, once=once)
    if not once and not ownership.coordinated:
        ownership.join()  # before the rules are loaded: a second process on a SQLite store is refused at once
    kit = _kit(cfg)
    mailboxes = _mailboxes(cfg, store)
    if not mailboxes:
        raise config_mod.ConfigError(f"{cfg.source}: no [[mailboxes]] configured; add one (see deploy/config.example.toml)")
    watch = tuple(cfg.path(p) for p in (cfg.rules.overlay, cfg.seller.profile) if p is not None)
    metrics = start_metrics(cfg.metrics) if not once else NULL_METRICS
    if cfg.metrics.enabled and not once:
        log.info("Metrics: http://%s:%d/metrics and /healthz", cfg.metrics.host, cfg.metrics.port)
    if cfg.nurture.enabled:
        log.info("Nurture drafts: tier C buyers every %d days, looked for daily after %s UTC", cfg.nurture.every_days,
                 cfg.nurture.at)
    health = Health([], unhealthy_after=cfg.daemon.unhealthy_after_seconds,
                    stalled_after=cfg.daemon.stalled_after_seconds, busy_after=max(60.0, 2 * cfg.daemon.message_seconds),
                    heartbeat=cfg.daemon.heartbeat_seconds)
    daemon = Daemon(mailboxes, store, KitRef(kit), lambda: _kit(cfg), cfg.daemon.interval_seconds,
                    cfg.daemon.max_attempts, Limits.of(cfg.daemon), watch, metrics, health, ownership=ownership,
                    workers=cfg.daemon.workers, claim_seconds=cfg.daemon.claim_seconds)
    if once:
        for m in mailboxes:
            log.info(m.describe())
        results = daemon.run_once()
        if any(r is None for r in results) and all(r is None for r in results):
            ctx.exit(int(ExitCode.UNREACHABLE))
        return
    daemon.serve()


@main.command()
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per message (the checklist and decisions), one per line, in the order given.")
@click.pass_context
def explain(ctx: click.Context, sources: tuple[str, ...], as_json: bool) -> None:
    """Show the checklist with evidence and the decisions for each message (.eml files, or - for stdin).

    The rules are loaded once for all of them. No side effects: nothing is stored or drafted.
    """
    from daemon.explain import as_json as to_json
    from daemon.explain import render
    from daemon.pipeline import analyse

    cfg = _config(ctx)
    kit = _kit(cfg, quiet=True, drafts=False)
    labels = {item: kit.labels.label(item, "en") for item in kit.labels.items}
    console = Console(width=max(Console().width, 120))
    for source in sources:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()  # one file open at a time
        raw = RawMessage(MessageKey("explain", "-", 0, 0), data)
        parsed, assessment = analyse(raw, kit)
        if as_json:
            click.echo(json.dumps(to_json(parsed, assessment, kit.rules_version), ensure_ascii=False, default=str))
            continue
        if len(sources) > 1:
            console.rule(Text("".join(ch if ch.isprintable() else "?" for ch in source)))
        render(console, parsed, assessment, labels)


@main.command()
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=Path("demo-work"), show_default=True,
              help="Folder for the sample Maildir, the drafts and the SQLite store.")
@click.pass_context
def demo(ctx: click.Context, workdir: Path) -> None:
    """Triage the bundled sample inbox once and print the table; drafts go to WORKDIR/Maildir/.Drafts."""
    from daemon import demo as demo_mod
    from daemon.pipeline import KitRef
    from daemon.scheduler import Daemon

    _setup_logging(ctx.obj.get("log_level") or "WARNING")
    cfg = demo_mod.prepare(workdir)
    kit = _kit(cfg, quiet=True)
    store = _store(cfg)
    mailboxes = _mailboxes(cfg)
    daemon = Daemon(mailboxes, store, KitRef(kit), lambda: kit)
    results = daemon.run_once()
    new = sum(r.drafted for r in results if r)
    table = Table(title="Sample inbox triage")
    for col in ("sender", "subject", "clarity", "priority", "tier", "action"):
        table.add_column(col, overflow="fold")
    for row in reversed(store.messages("demo", limit=1000)):
        clarity = f"{row['clarity']}/18" if row.get("clarity") is not None else "-"
        table.add_row(row.get("sender") or "", (row.get("subject") or "")[:48], clarity, row.get("priority") or "-",
                      row.get("tier") or "-", row.get("action") or "-")
    console = Console(width=140)
    console.print(table)
    drafts = cfg.path(Path(str(cfg.mailboxes[0].drafts)))
    console.print(f"{new} new draft(s) this run; drafts are in {drafts} (a Maildir: open it in any Maildir-capable client)")


@main.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the store's schema to the newest revision."""
    cfg = _config(ctx)
    store = _store(cfg, upgrade=True)
    click.echo(f"database at {store.url_for_display} is up to date")


@main.group()
def rules() -> None:
    """Check and test rules files."""


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
def rules_check(directory: Path | None) -> None:
    """Validate every rules file (shipped, or DIRECTORY as an overlay) with its fragments expanded, build every
    language's matchers, and report every error (exit 2 on any) and every unused fragment or sub-rule."""
    from extractors.body_items import BodyItems, load_words
    from extractors.engine import Engine
    from extractors.rules import load
    from extractors.tables import load_headers

    ruleset = load(overlay=directory)
    Engine(ruleset).prepare()
    body = BodyItems(ruleset, load_headers(directory), load_words(directory))
    for lang in ruleset.languages:
        body.patterns(lang)
    for line in ruleset.notices:
        click.echo(f"note: {line}")
    click.echo(f"ok: {ruleset.count()} rules in {len(ruleset.files)} files ({', '.join(ruleset.languages)})")


@rules.command("show")
@click.argument("rule_id")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--lang", help="The language whose fragments expand the rule (default: each language that has it).")
def rules_show(rule_id: str, directory: Path | None, lang: str | None) -> None:
    """Show a rule as written (with its file and line) and with its fragments expanded, and the sub-rules it reads."""
    from extractors.rules import load, show

    ruleset = load(overlay=directory)
    text = show(ruleset, rule_id.upper(), lang)
    if text is None:
        click.echo(f"error: no rule {rule_id!r}{' for ' + lang if lang else ''}; `inquiry-triage rules check` lists the files",
                   err=True)
        sys.exit(int(ExitCode.FAILURE))
    click.echo(text)


@rules.command("test")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False, exists=True))
def rules_test(directory: Path | None) -> None:
    """Run every rule's inline ok/fail examples and report the failures; exit 1 if any fails."""
    from daemon.parse.language import detect
    from extractors.examples import run_examples

    failures, total = run_examples(directory, lambda text: detect(text)[0])
    for line in failures:
        click.echo(line)
    click.echo(f"{total - len(failures)} passed, {len(failures)} failed")
    if failures:
        sys.exit(int(ExitCode.FAILURE))


@main.command("eval")
@click.argument("corpora", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (without the error list).")
@click.option("--errors", "show_errors", is_flag=True, help="List every miss, false alarm and cut value with its evidence and rule.")
@click.option("--floors", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A TOML file of floors (micro_f1, value_accuracy, invalid_precision, invalid_recall, language_f1); "
                   "exit 1 when a score falls below one.")
@click.pass_context
def eval_cmd(ctx: click.Context, corpora: tuple[Path, ...], as_json: bool, show_errors: bool, floors: Path | None) -> None:
    """Score extraction on labelled corpora (JSONL files, or folders of them): per-item P/R/F1, micro-F1 overall, by
    file and by language, value accuracy, invalid detection, rule hits."""
    from daemon.evaluate import check_floors, corpus_files, evaluate, load_corpus

    cfg = _config(ctx)
    kit = _kit(cfg, quiet=True, drafts=False)
    records: list[dict[str, Any]] = []
    names: list[str] = []
    for path in corpus_files(corpora):
        loaded = load_corpus(path)
        records += loaded
        names += [path.name] * len(loaded)
    result = evaluate(records, kit, names)
    failed = check_floors(result, floors) if floors else []
    if as_json:
        errors = result.pop("errors")
        if show_errors:
            result["errors"] = errors
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        _print_eval(result, show_errors)
    for line in failed:
        click.echo(f"floor not held: {line}", err=True)
    if failed:
        sys.exit(int(ExitCode.FAILURE))


def _print_eval(result: dict[str, Any], show_errors: bool) -> None:
    console = Console(width=160)
    table = Table(title=f"{result['n']} records")
    for col in ("item", "tp", "fp", "fn", "precision", "recall", "f1"):
        table.add_column(col, justify="right" if col != "item" else "left")
    for item, m in result["items"].items():
        table.add_row(item, *(str(m[k]) for k in ("tp", "fp", "fn", "precision", "recall", "f1")))
    console.print(table)
    slices = Table(title="by file and language")
    for col in ("slice", "n", "precision", "recall", "micro-F1", "value accuracy", "invalid P", "invalid R"):
        slices.add_column(col, justify="left" if col == "slice" else "right")
    rows = [("all", result)] + [(f"file {k}", v) for k, v in result["files"].items()] + \
        [(f"lang {k}", v) for k, v in result["languages"].items()]
    for name, s in rows:
        inv = s["invalid"]
        slices.add_row(name, str(s["n"]), f"{s['micro']['precision']:.3f}", f"{s['micro']['recall']:.3f}",
                       f"{s['micro']['f1']:.3f}", f"{s['value_accuracy']:.3f}", f"{inv['precision']:.3f}", f"{inv['recall']:.3f}")
    console.print(slices)
    rt = Table(title="rule hits")
    for col in ("rule", "hits", "false positives"):
        rt.add_column(col)
    for rule, m in sorted(result["rules"].items(), key=lambda kv: -kv[1]["hits"]):
        rt.add_row(rule, str(m["hits"]), str(m["false_positives"]))
    console.print(rt)
    if show_errors:
        for e in result["errors"]:
            console.print(Text(f"{e['file']} {e['id']} [{e['language']}] {e['item']} {e['kind']}: label={e['label']!r} "
                               f"evidence={e['evidence']!r} value={e['value']!r} rule={e['rule']}"))


@main.group()
def drafts() -> None:
    """Read the drafts the rules and templates write, before shipping a change."""


@drafts.command("preview")
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the pages (one per message) and index.html.")
@click.pass_context
def drafts_preview(ctx: click.Context, sources: tuple[Path, ...], out: Path) -> None:
    """Write an HTML page per message (the inquiry beside its draft, placeholders and values to check marked) and
    an index. SOURCE: .eml files, folders of them, or labelled-corpus JSONL files. Nothing is stored or sent."""
    from daemon.preview import preview

    cfg = _config(ctx)
    rows = preview(list(sources), _kit(cfg, quiet=True), out)
    click.echo(f"{len(rows)} pages in {out} (open {out / 'index.html'})")


@drafts.command("check")
@click.argument("corpora", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def drafts_check(ctx: click.Context, corpora: tuple[Path, ...], as_json: bool) -> None:
    """On labelled corpora (JSONL): no draft commits the seller on mail labelled invalid, no follow-up question asks
    for an item the buyer gave, every draft is in the buyer's language where templates exist, no confirmed value
    is cut inside a word. Exit 1 when any of these happens."""
    from daemon.preview import check, dump, report

    cfg = _config(ctx)
    result = check(list(corpora), _kit(cfg, quiet=True))
    click.echo(dump(result) if as_json else report(result))
    if result.failures():
        sys.exit(int(ExitCode.FAILURE))


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show each mailbox's owner (the replica or process working on it), state, last poll, backlog and last error, and
    the message counts; with [metrics] on, also the running daemon's own verdict (/healthz), which holds even while
    the store cannot be written.

    Exit codes: 0 ok, 1 a mailbox is unhealthy, 3 the store is unreachable."""
    import datetime as dt

    cfg = _config(ctx)
    live = _live_health(cfg)
    try:
        store = _store(cfg, upgrade=False)
        states = {s["account"]: s for s in store.mailbox_states()}
        counts = {m.name: store.counts(m.name) for m in cfg.mailboxes}
        owners = _owners(store, [m.name for m in cfg.mailboxes])
    except TriageError as e:
        click.echo(f"store: {e}", err=True)
        if live:
            click.echo(live[1])
        ctx.exit(int(ExitCode.UNREACHABLE))
    table = Table(title=f"inquiry-triage {__version__}")
    for col in ("mailbox", "owner", "state", "last poll", "backlog", "drafted", "skipped", "quarantined", "last error"):
        table.add_column(col, overflow="fold")
    now = dt.datetime.now(dt.UTC)
    unhealthy = False
    for m in cfg.mailboxes:
        s = states.get(m.name, {})
        state = s.get("state", "never polled")
        unhealthy = unhealthy or state in ("error", "stalled")
        updated = s.get("updated_at")
        if updated is not None and (now - updated).total_seconds() > 3 * cfg.daemon.heartbeat_seconds:
            state += f" (as of {updated:%Y-%m-%d %H:%M:%SZ}: no daemon has written it since)"
        c = counts[m.name]
        table.add_row(m.name, owners.get(m.name, "-"), state, str(s.get("last_poll") or "-"), str(s.get("backlog") or 0), str(c.get("drafted", 0)),
                      str(c.get("skipped", 0)), str(c.get("quarantined", 0)), (s.get("last_error") or "")[:200])
    Console(width=200).print(table)
    if live:
        click.echo(live[1])
        unhealthy = unhealthy or not live[0]
    if unhealthy:
        ctx.exit(int(ExitCode.FAILURE))


@main.group()
def edits() -> None:
    """How salespeople change the drafts before sending them (from the Sent folder)."""


@edits.command("report")
@click.option("--mailbox", "account", help="Only this mailbox's sent replies.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def edits_report(ctx: click.Context, account: str | None, as_json: bool) -> None:
    """Per template and language: how many replies were sent from our drafts, how each placeholder was filled (the
    kind of value), which sentences were deleted or added and which sections rewritten, with how many replies did
    so. What to change in the templates; nothing changes a template by itself."""
    from daemon.edits import report

    store = _store(_config(ctx), upgrade=False)
    rows = store.sent_replies(account)
    groups = report(rows)
    answered = [r for r in rows if r["inquiry_message_id"]]
    if as_json:
        click.echo(json.dumps({"sent": len(rows), "answered": len(answered), "templates": groups,
                               "response_seconds": [r["response_seconds"] for r in answered]}, ensure_ascii=False))
        return
    console = Console(width=160)
    console.print(f"{len(rows)} sent, {len(answered)} answering an inquiry, "
                  f"{sum(g['replies'] for g in groups)} started from our drafts", markup=False, highlight=False)
    for g in groups:
        console.rule(Text(f"{g['action']} ({g['language']}): {g['replies']} replies, {g['unchanged']} sent unchanged"))
        for name, kinds in g["placeholders"].items():
            console.print(f"  [[{name}]] filled with: " + ", ".join(f"{k} {n}x" for k, n in kinds.items()),
                          markup=False, highlight=False)
        for title, key in (("deleted", "deleted"), ("added", "added"), ("rewritten section", "rewritten")):
            for sentence, n in g[key]:
                always = " (always)" if n == g["replies"] and g["replies"] > 1 else ""
                console.print(f"  {title} in {n} of {g['replies']}{always}: {sentence}", markup=False, highlight=False)


@main.command()
@click.option("--now", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="Take this UTC time as now (default: the clock).")
@click.pass_context
def remind(ctx: click.Context, at: Any) -> None:
    """Put a flagged note in each mailbox's INBOX for every high-priority inquiry past its due time that no sent reply
    answers (once each). The daemon does this at the end of every pass; this runs it at once."""
    from daemon.reminders import send_reminders

    def each(box: Any, store: Any, kit: Any, cfg: Any, now: Any) -> str:
        return f"{send_reminders(box, store, (kit.drafter.from_name, kit.drafter.from_addr), now)} reminder(s)"

    _after_sent(ctx, at, each)


def _after_sent(ctx: click.Context, at: Any, job: Any) -> None:
    """Run `job(box, store, kit, cfg, now)` on each mailbox once its Sent folder is read (so a reply sent since the last
    pass counts), printing what it did; `at` (naive, UTC) stands for now when given."""
    import datetime as dt

    from daemon.sent import read_sent

    cfg = _config(ctx)
    kit = _kit(cfg, quiet=True)
    store = _store(cfg)
    now = at.replace(tzinfo=dt.UTC) if at is not None else dt.datetime.now(dt.UTC)
    for box in _mailboxes(cfg, store):
        box.open()
        try:
            read_sent(box, store)
            done = job(box, store, kit, cfg, now)
        finally:
            box.close()
        click.echo(f"{box.name}: {done}")


@main.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day (UTC; default: today).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Write each mailbox's digest page (<mailbox>.html) here instead of putting it in the INBOX.")
@click.pass_context
def digest(ctx: click.Context, day: Any, out: Path | None) -> None:
    """The daily digest: the day's inquiries ranked by priority with clarity bars, tier, due time, missing items and
    answered or not, put in each mailbox's INBOX (once a day; the daemon does it after [digest] at)."""
    import datetime as dt

    from daemon import digest as digest_mod
    from daemon.sent import read_sent

    cfg = _config(ctx)
    kit = _kit(cfg, quiet=True)
    store = _store(cfg)
    now = dt.datetime.now(dt.UTC)
    date = day.date() if day is not None else now.date()
    for box in _mailboxes(cfg, store):
        box.open()
        try:
            read_sent(box, store)
            if out is not None:
                start = dt.datetime.combine(date, dt.time(), dt.UTC)
                rows = store.day_inquiries(box.name, start, start + dt.timedelta(days=1))
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{box.name}.html").write_text(digest_mod.page(date, rows), encoding="utf-8")
                click.echo(f"{box.name}: {len(rows)} inquiries -> {out / (box.name + '.html')}")
                continue
            put = digest_mod.send_digest(box, store, (kit.drafter.from_name, kit.drafter.from_addr), now, date)
        finally:
            box.close()
        click.echo(f"{box.name}: digest of {date} {'put in the INBOX' if put else 'was put in the INBOX before'}")


@main.command()
@click.option("--now", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="Take this UTC time as now (default: the clock).")
@click.pass_context
def nurture(ctx: click.Context, at: Any) -> None:
    """Put a nurture draft in Drafts for every tier C buyer due one ([nurture] every_days since the last contact;
    once per period). The daemon does this once a day after [nurture] at when [nurture] enabled = true; this runs it
    at once, whether enabled or not."""
    from daemon.nurture import send_nurtures

    def each(box: Any, store: Any, kit: Any, cfg: Any, now: Any) -> str:
        return f"{send_nurtures(box, store, kit.drafter, cfg.nurture.every_days, now)} nurture draft(s)"

    _after_sent(ctx, at, each)


@main.group()
def customers() -> None:
    """The buyers the store knows: the list, and one buyer's history."""


@customers.command("list")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True, help="At most this many customers.")
@click.pass_context
def customers_list(ctx: click.Context, limit: int) -> None:
    """List the customers, the most recently seen first: clarity, priority, tier and mode of the latest inquiry,
    status and change risk."""
    from daemon.crm import list_table

    store = _store(_config(ctx), upgrade=False)
    Console(width=200).print(list_table(store.customers(limit)))


@customers.command("show")
@click.argument("customer_id", metavar="ID", type=int)
@click.pass_context
def customers_show(ctx: click.Context, customer_id: int) -> None:
    """Show one customer (ID from `customers list`): who, the change risk and why, and the history of clarity, tier and
    mode over time with the reason of every move."""
    from daemon.crm import show

    store = _store(_config(ctx), upgrade=False)
    row = store.customer_by_id(customer_id)
    if row is None:
        click.echo(f"error: no customer {customer_id}; `inquiry-triage customers list` shows the IDs", err=True)
        ctx.exit(int(ExitCode.FAILURE))
    show(Console(width=200), row, store.customer_events(customer_id))


@main.command("export")
@click.option("--csv", "as_csv", is_flag=True, required=True,
              help="CSV with the columns a CRM imports: company, contact, email, country, tier, clarity, priority, "
                   "last_inquiry, status.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file (default: stdout).")
@click.pass_context
def export(ctx: click.Context, as_csv: bool, out: Path | None) -> None:
    """Export the customers for a CRM (UTF-8, one customer a row, the most recently seen first)."""
    from daemon.crm import write_csv

    store = _store(_config(ctx), upgrade=False)
    rows = store.customers(limit=1_000_000)
    if out is None:
        write_csv(rows, sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        n = write_csv(rows, fh)
    click.echo(f"{n} customers written to {out}", err=True)


@main.group()
def checklist() -> None:
    """The printable trade-show checklist."""


@checklist.command("print")
@click.option("--items", "count", type=int, default=12, show_default=True,
              help="The first N checklist items (12: the condensed trade-show list, 18: all).")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "pdf"]), default="html", show_default=True)
@click.option("--lang", help="Comma-separated template languages (default: every one, a page each).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file (default: stdout; a PDF only to a stdout that is not a terminal).")
@click.option("--font", "fonts", multiple=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="PDF: a TrueType/OpenType font to print with (repeatable; each page takes the first that covers "
                   "its language). Default: the fonts fontconfig lists for each language.")
@click.pass_context
def checklist_print(ctx: click.Context, count: int, fmt: str, lang: str | None, out: Path | None,
                    fonts: tuple[Path, ...]) -> None:
    """Print the trade-show checklist with tick boxes, in each template language; what a visitor stated is typed
    into a CSV afterwards for `leads add`."""
    if fonts and fmt != "pdf":
        raise config_mod.ConfigError("--font: only --format pdf embeds fonts; html and md leave them to the browser")
    if fmt == "pdf" and out is None and sys.stdout.isatty():
        raise config_mod.ConfigError("--format pdf: a PDF is binary and stdout is a terminal; "
                                     "write it with --out FILE (or redirect stdout to a file)")
    from daemon.drafting import load_labels
    from daemon.sheet import languages, load_words, pages, render
    from extractors.rules import shipped_dir

    if fmt != "pdf":
        text = render(fmt, count, languages(lang), load_labels(shipped_dir()), load_words(shipped_dir()))
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            click.echo(f"checklist written to {out}", err=True)
        return
    from daemon.fonts import FontFinder
    from daemon.sheet_pdf import write_pdf

    data = write_pdf(pages(count, languages(lang), load_labels(shipped_dir()), load_words(shipped_dir())),
                     FontFinder(fonts))
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        click.echo(f"checklist written to {out}", err=True)


@main.group()
def leads() -> None:
    """Trade-show leads."""


@leads.command("add")
@click.option("--from-csv", "path", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="CSV: email and optionally company, contact, phone, country, language, notes, then one column per "
                   "checklist item (its id or printed name): empty = not stated, x = ticked, or the value said.")
@click.option("--event", default="Trade show", show_default=True, help="The show's name (the follow-up's subject).")
@click.option("--mailbox", "mailbox_name", help="The mailbox whose Drafts get the follow-ups (default: the first).")
@click.pass_context
def leads_add(ctx: click.Context, path: Path, event: str, mailbox_name: str | None) -> None:
    """Score each lead by the same rules as mail, store it as a customer and save a follow-up draft for it. A bad
    row or an unknown column stops the import before anything is stored (exit 2, naming the file, line and fix);
    a row added before is left as it is."""
    from daemon.leads import country, read, score, subject
    from daemon.store import CustomerUpdate

    cfg = _config(ctx)
    kit = _kit(cfg, quiet=True)
    rows = read(path, kit)
    store = _store(cfg)
    boxes = {m.name: box for m, box in zip(cfg.mailboxes, _mailboxes(cfg, store), strict=True)}
    if not boxes or (mailbox_name is not None and mailbox_name not in boxes):
        raise config_mod.ConfigError(f"{cfg.source}: no mailbox {mailbox_name or ''} for the drafts; "
                                     f"configure one or pass --mailbox ({', '.join(boxes) or 'none configured'})")
    box = boxes[mailbox_name] if mailbox_name else next(iter(boxes.values()))
    table = Table(title=f"leads from {path.name}")
    for col in ("line", "email", "company", "clarity", "priority", "tier", "mode", "action", "draft"):
        table.add_column(col, overflow="fold")
    box.open()
    try:
        for lead in rows:
            known = store.customer(lead.email)
            parsed, a = score(lead, path, kit, event, known)
            draft = kit.drafter.draft(parsed, a, kit.rules_version, subject=subject(lead, event))
            draft_id = draft.message_id if draft else ""
            seen = known is not None and any(e["message_id"] == draft_id and e["source"] == "lead"
                                             for e in store.customer_events(known["id"]))
            if draft is not None and not box.find_draft(draft.message_id):
                box.save_draft(draft)
            if not seen:
                store.add_customer(CustomerUpdate(
                    lead.email, {k: (f.as_json() if f else None) for k, f in a.checklist.items}, a.clarity, a.tier,
                    kit.decisions.order.high_change_risk_changes,
                    change_after_order_at=kit.decisions.order.high_change_risk_after_order, priority=a.priority,
                    mode=a.follow_up_mode, action=a.action, status="lead", source="lead", message_id=draft_id,
                    subject=subject(lead, event), company=lead.fields["company"] or None, contact=lead.fields["contact"] or None,
                    country=country(lead, a) or None, missing=tuple(a.checklist.missing), reasons=dict(a.reasons)))
            table.add_row(str(lead.line), lead.email, lead.fields["company"], f"{a.clarity}/18", a.priority or "-",
                          a.tier or "-", a.follow_up_mode or "-", a.action,
                          ("saved" if not seen else "added before") if draft else "none")
    finally:
        box.close()
    Console(width=200).print(table)


def _owners(store: Any, names: list[str]) -> dict[str, str]:
    """Who works on each mailbox now: the replica holding its lock (PostgreSQL), or the process holding the SQLite
    store's lock file; a mailbox no one holds is missing."""
    from daemon.store.locks import owners, store_holder

    if store.engine.dialect.name == "postgresql":
        try:
            return owners(store.engine, names)
        except Exception as e:  # noqa: BLE001 - the store answered a moment ago: a lost connection is an outage
            raise TransientError(f"database unreachable at {store.url_for_display}: {e}") from e
    path = store.sqlite_path
    holder = store_holder(path) if path is not None else None
    return {n: holder for n in names} if holder else {}


def _live_health(cfg: config_mod.Config) -> tuple[bool, str] | None:
    """The running daemon's /healthz verdict when [metrics] is on: (healthy, text); None when it is off."""
    import urllib.error
    import urllib.request

    if not cfg.metrics.enabled:
        return None
    host = f"[{cfg.metrics.host}]" if ":" in cfg.metrics.host else cfg.metrics.host
    url = f"http://{host}:{cfg.metrics.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - the configured loopback endpoint
            return True, f"daemon ({url}): {r.read().decode(errors='replace').strip()}"
    except urllib.error.HTTPError as e:
        return False, f"daemon ({url}): {e.read().decode(errors='replace').strip()}"
    except OSError as e:
        return False, f"daemon ({url}): no answer ({getattr(e, 'reason', e)}); is the daemon running?"


if __name__ == "__main__":  # pragma: no cover
    main()
