"""Browse queries from Tate's subject keywords: one query per subject ("dog", "shipwreck"), every record
tagged with that subject relevant. What a visitor types into a collection search box; it measures what
a page of results shows (P@10, and how many of them repeat a series, `curator eval`'s
"series repeats@10"), not question answering.

  python3 scripts/make-subject-queries.py ../shared/corpus/tate/tate_artworks.jsonl > eval/queries/subjects.jsonl

Subjects in lower case (places and people are capitalised and left out) tagged on 20 to 600 records;
60 of them drawn with a fixed seed. Nothing is tuned on this set.
"""
import json
import random
import sys
from collections import defaultdict

SEED = 7
QUERIES = 60


def main() -> int:
    tagged = defaultdict(list)
    with open(sys.argv[1], encoding="utf-8") as artworks:
        for line in artworks:
            record = json.loads(line)
            for subject in record.get("subjects") or []:
                term = subject.replace(" - non-specific", "").strip()
                if term and term == term.lower() and not any(c in term for c in ",/()"):
                    tagged[term].append(f"tate:{record['acno']}")
    eligible = sorted(term for term, ids in tagged.items() if 20 <= len(set(ids)) <= 600)
    for term in sorted(random.Random(SEED).sample(eligible, QUERIES)):
        query = {"id": f"subject-{term.replace(' ', '-')}", "question": term, "relevant": sorted(set(tagged[term]))}
        print(json.dumps(query, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
