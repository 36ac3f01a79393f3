"""How fast is `cepengine check` on a large rule set?

Generates N varied rules (pattern and window rules; NOT, quantifiers,
AND/OR groups, predicates with arithmetic, `in`, `matches`, functions and
aggregates; optional clauses at realistic rates), then times `check_text`
(parse + every analysis pass) over them. `typical` rules are the size of the
SPEC's examples; `heavy` rules write every clause. The target is 1,000
typical rules in under a second. Not a test: nothing fails on a slow run.

    python benchmarks/parse_rules.py [--rules 1000] [--profile-rules typical|heavy]
                                     [--repeat 5] [--profile] [--dump FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import attrs

from cepengine.check import check_text
from cepengine.syntax.parser import lark_parser

TYPES = ("login", "logout", "transfer", "payment", "card_added", "password_reset", "page_view", "alert")
FIELDS = ("amount", "country", "ip", "device", "score", "status", "path", "latency_ms")
DURATIONS = ("30s", "1m", "5m", "10m", "1h", "1h30m", "2h", "1d", "250ms")


@attrs.frozen
class Profile:
    """How much of the language a generated rule uses: `typical` rules are
    the size of the SPEC's examples (about 60 tokens); `heavy` rules write
    every clause, long predicates and OR/AND groups (about twice that)."""

    elements: tuple[int, int]
    predicate_terms: tuple[int, int]
    p_predicate: float
    p_optional_clause: float
    p_group: float


PROFILES = {
    "typical": Profile(elements=(2, 3), predicate_terms=(1, 2), p_predicate=0.4, p_optional_clause=0.25, p_group=0.1),
    "heavy": Profile(elements=(2, 5), predicate_terms=(1, 3), p_predicate=0.6, p_optional_clause=1.0, p_group=0.5),
}


def _predicate(rng: random.Random, terms: tuple[int, int], alias: str | None = None) -> str:
    def field() -> str:
        name = rng.choice(FIELDS)
        return f"{alias}.{name}" if alias else name

    choices = (
        lambda: f"{field()} > {rng.randint(1, 100_000)}",
        lambda: f'{field()} == "{rng.choice(("DE", "FR", "US", "ok", "failed"))}"',
        lambda: f'{field()} in ("a", "b", "c")',
        lambda: f"{field()} not in (1, 2, 3)",
        lambda: rf'{field()} matches "^/api/v\d+/"',
        lambda: f"({field()} + {rng.randint(1, 9)}) * 2 <= {rng.randint(10, 99)}",
        lambda: f"abs({field()} - {rng.randint(1, 99)}) < 5",
        lambda: f"{field()} is not null",
        lambda: f'lower({field()}) startswith "x"',
    )
    glue = rng.choice((" and ", " or ", " and not "))
    return glue.join(rng.choice(choices)() for _ in range(rng.randint(*terms)))


def _element(rng: random.Random, profile: Profile, alias: str, quantified: bool = False) -> str:
    text = rng.choice(TYPES)
    if rng.random() < profile.p_predicate:
        text += f"[{_predicate(rng, profile.predicate_terms)}]"
    if quantified:
        text += rng.choice(("+", "{2,5}", "{3}", "{2,}"))
    return f"{text} AS {alias}"


def pattern_rule(rng: random.Random, profile: Profile, index: int) -> str:
    aliases = [f"e{i}" for i in range(rng.randint(*profile.elements))]
    quantified = rng.random() < 0.3
    items = [_element(rng, profile, a, quantified=(i == 1 and quantified)) for i, a in enumerate(aliases)]
    if rng.random() < 0.2:
        items.insert(1, f"NOT {rng.choice(TYPES)}[{_predicate(rng, profile.predicate_terms)}]")
    if rng.random() < profile.p_group:
        group = rng.choice(("OR", "AND"))
        items.append(f"{group}({rng.choice(TYPES)} AS x{index}, {rng.choice(TYPES)} AS y{index})")
        aliases += [f"x{index}", f"y{index}"]
    first, second = aliases[0], aliases[1]
    emits = ["user", f"start_ip = {first}.ip"]
    emits += [f"{alias}_status = {alias}.status" for alias in aliases[1:] if not (quantified and alias == second)]
    if quantified:
        emits.append(f"n = count({second})")
    optional = {
        "DESCRIPTION": f'DESCRIPTION "generated pattern rule number {index}, \\"quoted\\""',
        "SEVERITY": f"SEVERITY {rng.choice(('low', 'medium', 'high', 'critical'))}",
        "TAGS": f"TAGS generated, {rng.choice(('fraud', 'ops', 'security'))}",
        "WHERE": "WHERE "
        + (
            f"count({second}) >= 2 and last({second}).amount > {first}.amount"
            if quantified
            else _predicate(rng, profile.predicate_terms, first)
        ),
        "SELECTION": f"SELECTION {rng.choice(('STRICT', 'SKIP_TILL_NEXT', 'SKIP_TILL_ANY'))}",
        "AFTER MATCH": f"AFTER MATCH {rng.choice(('SKIP PAST LAST', 'SKIP TO NEXT', 'NO SKIP'))}",
        "ALLOWED LATENESS": f"ALLOWED LATENESS {rng.choice(DURATIONS)}",
    }
    clauses = [f"RULE pattern_rule_{index}"]
    clauses += [f"  {text}" for text in optional.values() if rng.random() < profile.p_optional_clause]
    clauses += [
        f"  PATTERN SEQ({', '.join(items)}) WITHIN {rng.choice(DURATIONS)}",
        "  BY user",
        f"  EMIT {', '.join(emits)}",
    ]
    return "\n".join(clauses) + "\n"


def window_rule(rng: random.Random, profile: Profile, index: int) -> str:
    window = rng.choice(("TUMBLING 1m", "SLIDING 10m EVERY 1m", "SLIDING 1h EVERY 5m", "SESSION GAP 30s"))
    field = rng.choice(FIELDS)
    lines = [
        f"RULE window_rule_{index}   # a comment",
        f"  FROM {rng.choice(TYPES)}[{_predicate(rng, profile.predicate_terms)}]",
        f"  WINDOW {window}",
        "  BY ip",
        f"  HAVING count() >= {rng.randint(2, 50)} AND count_distinct(user) >= 3",
        f"  EMIT ip, n = count(), users = count_distinct(user), top = max({field})",
    ]
    if rng.random() < profile.p_optional_clause:
        lines.append(f"  SEVERITY {rng.choice(('low', 'high'))}")
    return "\n".join(lines) + "\n"


def generate(count: int, profile: Profile, seed: int = 7) -> str:
    rng = random.Random(seed)
    rules = [
        pattern_rule(rng, profile, i) if rng.random() < 0.7 else window_rule(rng, profile, i) for i in range(count)
    ]
    return "# generated by benchmarks/parse_rules.py\n\n" + "\n".join(rules)


def count_tokens(text: str) -> int:
    return sum(1 for _ in lark_parser().lex(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--profile-rules", choices=sorted(PROFILES), default="typical", dest="size")
    parser.add_argument("--repeat", type=int, default=5, help="report the best of this many runs")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument("--dump", metavar="FILE", help="also write the generated rules to FILE")
    args = parser.parse_args(argv)

    text = generate(args.rules, PROFILES[args.size])
    if args.dump:
        Path(args.dump).write_text(text, encoding="utf-8")
    check_text("RULE warm_up PATTERN a WITHIN 1m")  # build the (cached) Lark parser outside the timing

    result = check_text(text, "generated.cep")
    if len(result.rules) != args.rules or result.errors:
        for diagnostic in result.errors[:5]:
            print(diagnostic.span, diagnostic.message, diagnostic.code, file=sys.stderr)
        print(f"expected {args.rules} clean rules, got {len(result.rules)} and {len(result.errors)} errors")
        return 1

    timings, cpu = [], []
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        check_text(text, "generated.cep")
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best = min(timings)
    lines = text.count("\n")
    tokens = count_tokens(text)
    print(
        f"{args.rules} {args.size} rules ({lines} lines, {tokens / args.rules:.0f} tokens a rule, "
        f"{len(result.diagnostics)} warnings): best {best:.3f} s of {args.repeat} "
        f"(CPU {min(cpu):.3f} s), {args.rules / best:,.0f} rules/s"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(check_text, text, "generated.cep")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
