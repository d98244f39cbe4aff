"""Similar answers, per exercise, with copydetect (winnowed fingerprints of filtered tokens).

Each exercise's answer cells are compared pairwise. copydetect's filter replaces names by a
placeholder, so renaming variables does not hide a copy. The released student version's cell
(signature, docstring, stub) is the boilerplate, so given code never counts; the reference
solution takes part as one more source ("solution"), since copying it is the most common case.
Only pairs that share enough fingerprints are compared in full (an inverted index, then a count
of shared hashes), and identical code is fingerprinted once, which keeps 300 students to seconds.
"""
import html
import io
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from copydetect import CodeFingerprint, compare_files

K, WINDOW = 20, 4            # tokens per fingerprint; winnowing window (copydetect's defaults: 25, 1)
THRESHOLD = 0.8              # the lower similarity of the two sides
MIN_TOKENS = 40              # answers shorter than this are too short to call copied
SOLUTION = "solution"
PREFILTER = 0.5             # a pair compared in full shares at least this fraction of the threshold in hashes
SHOWN = 20                   # pairs per exercise shown side by side (all are listed in the CSV)


@dataclass
class Pair:
    exercise: str
    first: str
    second: str
    similarity: float        # the smaller of the two sides' overlap fractions
    snippets: tuple          # (html of first, html of second) with the overlap marked; () past SHOWN


def _fingerprint(code, boilerplate):
    return CodeFingerprint("answer.py", K, WINDOW, boilerplate, filter=True, language="python",
                           fp=io.StringIO(code))


def _marked(code, slices):
    """``code`` as HTML with the copied slices in <mark>."""
    parts, at = [], 0
    for start, end in sorted(zip(*slices)) if len(slices[0]) else []:
        start, end = max(int(start), at), int(end)
        if end <= start:
            continue
        parts += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    return "".join(parts) + html.escape(code[at:])


def similar_pairs(answers, templates, solutions, threshold=THRESHOLD, shown=SHOWN):
    """Pairs above ``threshold``, most similar first; the first ``shown`` per exercise with snippets.

    ``answers``: exercise -> {student: code}; ``templates``/``solutions``: exercise -> code.
    Answers whose filtered tokens are identical (a renamed copy) are one group: compared once.
    """
    found = []
    for exercise in sorted(answers):
        boilerplate = np.array(sorted(_fingerprint(templates.get(exercise, ""), []).hashes), dtype=np.int64)
        sources = dict(answers[exercise])
        if exercise in solutions:
            sources[SOLUTION] = solutions[exercise]
        prints, groups, cache = {}, {}, {}
        for who in sorted(sources):
            code = sources[who]
            fingerprint = cache[code] = cache.get(code) or _fingerprint(code, boilerplate)  # stubs repeat
            if len(fingerprint.filtered_code) >= MIN_TOKENS and len(fingerprint.hashes):
                prints[who] = fingerprint
                groups.setdefault(fingerprint.filtered_code, []).append(who)
        leaders = {members[0]: members for members in groups.values()}
        index = {}
        for who in leaders:
            for value in prints[who].hashes:
                index.setdefault(value, set()).add(who)
        candidates = {pair for group in index.values() if len(group) > 1
                      for pair in combinations(sorted(group), 2)}
        pairs = [(1.0, a, b) for members in leaders.values() for a, b in combinations(members, 2)]
        for first, second in candidates:
            shared = len(prints[first].hashes & prints[second].hashes)
            if shared < PREFILTER * threshold * min(len(prints[first].hashes), len(prints[second].hashes)):
                continue  # too few fingerprints in common to come near the threshold
            _, (one, two), _ = compare_files(prints[first], prints[second])
            if min(one, two) >= threshold:
                pairs += [(float(min(one, two)), *sorted((a, b))) for a in leaders[first] for b in leaders[second]]
        for rank, (similarity, first, second) in enumerate(sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))):
            snippets = ()
            if rank < shown:
                _, _, slices = compare_files(prints[first], prints[second])
                snippets = (_marked(prints[first].raw_code, slices[0]), _marked(prints[second].raw_code, slices[1]))
            found.append(Pair(exercise, first, second, similarity, snippets))
    return found


def answer_cells(notebook):
    """exercise (test grade id) -> the code of its answer cell."""
    return {c.metadata["nbgrader"]["grade_id"].removesuffix("-answer"): c.source for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
