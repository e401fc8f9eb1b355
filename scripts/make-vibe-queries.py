"""Vibe queries (issue 12.2): a mood or a scene in everyday words that share no word with the Tate subject
tags that define what is relevant ("a lone person by the seaside": tagged beach or coast, and figure).

  python3 scripts/make-vibe-queries.py ../shared/corpus/tate/tate_artworks.jsonl eval/queries/vibe-spec.jsonl eval/queries

The spec (eval/queries/vibe-spec.jsonl) was written by hand: each line a query and its tag groups, a
record matching at least one tag of every group. Grades: 2 when a record matches every group, 1 when it
matches only the first group (the query's mood or main idea; only for queries of several groups whose
first group alone matches at most 2000 records), so a page of seaside scenes without a person is partly
right. Queries are split in two by a hash of the query: vibe-valid.jsonl, where fusion settings may be
tuned, and vibe-heldout.jsonl, which checks them and is never tuned on.

The script refuses a spec whose tags are not Tate's or whose query shares a content word with its own
tags (so BM25 cannot find the answers by their tag words), and leaves out queries matching fewer than 10
or more than 2000 records fully (too few to measure a page, or too broad to mean anything).
"""
import hashlib
import json
import re
import sys
from collections import defaultdict

STOPWORDS = set("a an the of in on at to for with and or by from as is are be its it this that".split())
MIN_FULL, MAX_FULL = 10, 2000


def words(text):
    out = set()
    for w in re.split(r"[^a-z]+", text.lower()):
        if w and w not in STOPWORDS:
            out.add(w[:-1] if w.endswith("s") and len(w) > 3 else w)
    return out


def main() -> int:
    artworks, spec_path, out_dir = sys.argv[1:4]
    by_tag = defaultdict(set)
    with open(artworks, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for tag in record.get("subjects") or []:
                by_tag[tag].add(f"tate:{record['acno']}")
    parts = {"valid": [], "heldout": []}
    problems = []
    with open(spec_path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            spec = json.loads(line)
            query, groups = spec["query"], spec["groups"]
            unknown = [t for g in groups for t in g if t not in by_tag]
            shared = words(query) & set().union(*(words(t) for g in groups for t in g))
            if unknown or shared:
                problems.append(f"{spec_path}:{number}: {query!r}: unknown tags {unknown}, words shared with tags {sorted(shared)}")
                continue
            matching = [set().union(*(by_tag[t] for t in g)) for g in groups]
            full = set.intersection(*matching)
            if not MIN_FULL <= len(full) <= MAX_FULL:
                print(f"left out {query!r}: {len(full)} records match every group", file=sys.stderr)
                continue
            # A first group too broad to mean the query on its own ("woman") gives no partial credit.
            partial = matching[0] if len(matching) > 1 and len(matching[0]) <= MAX_FULL else set()
            grades = {rid: 1.0 for rid in partial} | {rid: 2.0 for rid in full}
            part = "valid" if hashlib.sha256(query.encode()).digest()[0] % 2 == 0 else "heldout"
            slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")
            parts[part].append({"id": f"vibe-{slug}", "question": query, "relevant": dict(sorted(grades.items()))})
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    for part, queries in parts.items():
        with open(f"{out_dir}/vibe-{part}.jsonl", "w", encoding="utf-8") as out:
            for q in queries:
                out.write(json.dumps(q, ensure_ascii=False) + "\n")
        print(f"vibe-{part}.jsonl: {len(queries)} queries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
