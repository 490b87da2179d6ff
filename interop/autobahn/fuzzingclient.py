"""Runs Autobahn's fuzzing client (ported by port.py) against WebSocket servers, then checks
its results: every case OK or INFORMATIONAL, at most --non-strict NON-STRICT, no case FAILED
or UNIMPLEMENTED, and every close as the case expects. Prints one line per server with its
counts, and one per case that is not OK. Exits 1 if a server falls short; an --anchor (a
peer run on the same cases for comparison) is reported the same way but not judged.

Usage: python3 fuzzingclient.py --ported DIR --reports DIR --cases 1.*,12.* \
           [--non-strict 2] [--anchor AGENT=URL ...] AGENT=ws://HOST:PORT/PATH ...
"""
import argparse
import builtins
import collections
import functools
import json
import pathlib
import sys

ACCEPTED = {"OK", "INFORMATIONAL"}


def run(ported, reports, cases, servers):
    sys.path.insert(0, str(ported))
    import txaio

    txaio.use_twisted()
    from autobahntestsuite import fuzzing
    from twisted.internet import reactor

    # Twisted's logging takes over sys.stdout from here: the results go to sys.__stdout__.
    txaio.start_logging(out=sys.__stderr__, level="error")
    spec = {
        "outdir": str(reports),
        "servers": [{"agent": agent, "url": url} for agent, url in servers],
        "cases": cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    fuzzing.startClient(spec)
    reactor.run()


def check(reports, agents, non_strict, judged=True):
    print = functools.partial(builtins.print, file=sys.__stdout__, flush=True)
    index = json.loads((reports / "index.json").read_text())
    ok = True
    for agent in agents:
        results = index.get(agent, {})
        counts = collections.Counter(r["behavior"] for r in results.values())
        print(f"{agent}: {len(results)} cases, " + ", ".join(f"{n} {b}" for b, n in sorted(counts.items())))
        for case, r in sorted(results.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
            if r["behavior"] != "OK" or r["behaviorClose"] not in ACCEPTED:
                print(f"  {case}: {r['behavior']}, close {r['behaviorClose']}")
        bad = sum(n for b, n in counts.items() if b not in ACCEPTED | {"NON-STRICT"})
        closes = sum(1 for r in results.values() if r["behaviorClose"] not in ACCEPTED)
        if judged and (not results or bad or closes or counts["NON-STRICT"] > non_strict):
            print(f"{agent}: FALLS SHORT ({bad} failed or unimplemented, {closes} closes not as "
                  f"expected, {counts['NON-STRICT']} non-strict against at most {non_strict})")
            ok = False
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ported", type=pathlib.Path, required=True)
    parser.add_argument("--reports", type=pathlib.Path, required=True)
    parser.add_argument("--cases", default="*")
    parser.add_argument("--non-strict", type=int, default=2)
    parser.add_argument("--anchor", action="append", default=[], help="AGENT=URL, not judged")
    parser.add_argument("servers", nargs="+", help="AGENT=URL")
    args = parser.parse_args()
    servers = [tuple(s.split("=", 1)) for s in args.servers]
    anchors = [tuple(s.split("=", 1)) for s in args.anchor]
    run(args.ported, args.reports, args.cases.split(","), servers + anchors)
    ok = check(args.reports, [a for a, _ in servers], args.non_strict)
    check(args.reports, [a for a, _ in anchors], args.non_strict, judged=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
