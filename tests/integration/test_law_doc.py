"""docs/cooperative-law.md against the engine and the golden cases.

No database. Reads the doc's marked YAML blocks, so doc and tests cannot
drift:

  * every block after `<!-- law-doc: check-config -->` passes
    `coopsettle check-config` (exit 0), with `version: 2`, `cooperative`,
    `currency`/`currencies` (EUR) and a catch-all fee rule added where the
    snippet leaves them out;
  * every block after `<!-- law-doc: golden law-NAME -->` equals
    tests/golden/law-NAME/config.yaml without its comment lines, and every
    tests/golden/law-* case has such a block;
  * every figure of a case's expected.json (each nonzero amount, count and
    payment due date of its currencies, steps, members and parties) is
    written in that case's section of the doc, which works them by hand.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import Runner  # noqa: E402

DOC = os.path.join(harness.SOURCE_DIR, "docs", "cooperative-law.md")
GOLDEN = os.path.join(harness.SOURCE_DIR, "tests", "golden")
BLOCK = re.compile(r"<!-- law-doc: (check-config|golden (law-[a-z0-9-]+)) -->\s*\n```yaml\n(.*?)\n```",
                   re.S)


def doc_text():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def completed(snippet):
    """The snippet with the top-level keys it leaves out."""
    head = []
    has = lambda key: re.search(r"^%s:" % key, snippet, re.M) is not None  # noqa: E731
    if not has("version"):
        head.append("version: 2")
    if not has("cooperative"):
        head.append('cooperative: "Doc eG"')
    if not has("currency"):
        head += ["currency: EUR", "currencies: {EUR: 2}"]
    if not has("fees"):
        head += ["fees:", "  - {id: all, rate: 10%}"]
    return "\n".join(head + [snippet]) + "\n"


def check_snippets(t):
    blocks = [m for m in BLOCK.finditer(doc_text()) if m.group(1) == "check-config"]
    t.check(len(blocks) >= 10, "the doc has a checked snippet for every rule (%d)" % len(blocks))
    tmp = tempfile.mkdtemp(prefix="cs_lawdoc_")
    for k, m in enumerate(blocks):
        path = os.path.join(tmp, "snippet-%d.yaml" % (k + 1))
        with open(path, "w", encoding="utf-8") as f:
            f.write(completed(m.group(3)))
        r = subprocess.run([harness.BINARY, "check-config", path], capture_output=True, text=True)
        line = doc_text()[:m.start()].count("\n") + 1
        t.eq((r.returncode, r.stderr), (0, ""), "snippet at docs/cooperative-law.md:%d" % line)


def without_comments(text):
    return "\n".join(ln for ln in text.split("\n") if not ln.lstrip().startswith("#")).strip()


def case_sections():
    """{case: (its YAML block, its section's text)}."""
    text = doc_text()
    out = {}
    for m in BLOCK.finditer(text):
        if m.group(2):
            start = text.rfind("\n### ", 0, m.start())
            end = text.find("\n### ", m.end())
            out[m.group(2)] = (m.group(3), text[start:end if end >= 0 else len(text)])
    return out


def figures(statement):
    """(what, value) of every figure of the statement that the doc must
    name: nonzero integers under currencies, steps, members and parties
    (ids and the run id left out), and payment due dates."""
    found = []

    def walk(x, where):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("id", "run_id", "hashes", "window", "kind", "status", "currency", "side"):
                    continue
                walk(v, where + "." + k)
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, "%s[%d]" % (where, i))
        elif isinstance(x, bool):
            pass
        elif isinstance(x, int) and x != 0:
            found.append((where, str(x)))
        elif isinstance(x, str) and where.endswith("payment_due"):
            found.append((where, x))

    for key in ("currencies", "members", "parties"):
        walk(statement.get(key), key)
    return found


def check_golden(t):
    sections = case_sections()
    cases = sorted(d for d in os.listdir(GOLDEN) if d.startswith("law-"))
    t.check(len(cases) >= 5, "at least five law-* golden cases (%d)" % len(cases))
    t.eq(sorted(sections), cases, "the doc works every law-* golden case, and only those")
    for case in cases:
        if case not in sections:
            continue
        block, section = sections[case]
        with open(os.path.join(GOLDEN, case, "config.yaml"), encoding="utf-8") as f:
            t.eq(block.strip(), without_comments(f.read()),
                 "%s: the doc shows its config.yaml" % case)
        with open(os.path.join(GOLDEN, case, "expected.json"), encoding="utf-8") as f:
            statement = json.load(f)
        numbers = set(re.findall(r"(?<![\w.])-?\d+(?:-\d\d-\d\d)?(?![\w.]\d)", section))
        missing = [(w, v) for w, v in figures(statement) if v not in numbers]
        t.eq(missing, [], "%s: every figure of expected.json is worked in the doc" % case)


def main():
    t = Runner()
    t.case(check_snippets)
    t.case(check_golden)
    t.finish()


if __name__ == "__main__":
    main()
