"""Reading a study file: YAML with line numbers, schema, then semantic checks.

Every problem is reported as ``study.yaml:23: subjects[2].scans[0].injected_activity_mbq:
Input should be a valid number`` — file, line, field path, message — and all problems
of a file are reported at once, before any image is read.

The line numbers come from the YAML node marks (``yaml.compose``): the document is
composed once, each mapping key and sequence item records its line, and pydantic's
error locations are looked up in that map.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..core.errors import ImmunopetError, StudyError
from .model import ScanEntry, Study, Subject

__all__ = ["StudyFileError", "StudyIssue", "check_study", "load_study", "read_yaml_with_lines"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class StudyIssue:
    """One problem of a study file, where it is and what to do."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class StudyFileError(StudyError):
    """All problems found in one study file (a :class:`~immunopet.core.errors.StudyError`).

    Attributes
    ----------
    issues
        One :class:`StudyIssue` per problem, in file order.
    line
        Line of the first problem.
    """

    def __init__(self, issues: Iterable[StudyIssue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda i: (i.line or 0, i.field)))
        first = self.issues[0]
        self.line = first.line
        super().__init__(first.message, file=first.file, field=first.field or None)

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)

    def __reduce__(self) -> tuple[Any, ...]:
        return (StudyFileError, (self.issues,))


def format_loc(loc: Iterable[str | int]) -> str:
    """``('subjects', 2, 'scans', 0, 'path')`` → ``subjects[2].scans[0].path``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_map(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key: str | int = key_node.value
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            _line_map(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*loc, i), lines)


def read_yaml_with_lines(text: str, file: str = "<string>") -> tuple[Any, dict[Loc, int]]:
    """Parse one YAML document and map each key / item path to its 1-based line.

    Raises
    ------
    StudyFileError
        If the text is not valid YAML.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise StudyFileError([StudyIssue(file, 1, "", "the study file is empty")])
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise StudyFileError([StudyIssue(file, line, "", f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    _line_map(node, (), lines)
    return data, lines


def _clean_loc(loc: Iterable[str | int]) -> Loc:
    # pydantic adds validator tags such as "function-after[...]" or "literal['a','b']".
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and "(" not in p))


def _line(lines: dict[Loc, int], loc: Loc) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def load_study(path: str | Path, *, check_files: bool = True) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path
        The YAML study file.
    check_files
        Also check that files exist and label maps belong to their subject.

    Returns
    -------
    Study
        The validated study; relative paths resolve against the YAML's folder.

    Raises
    ------
    StudyFileError
        With every schema and semantic problem, each with its line.
    """
    path = Path(path)
    if not path.is_file():
        raise StudyError("study file not found; give the path of a YAML study file", file=path)
    data, lines = read_yaml_with_lines(path.read_text(encoding="utf-8"), str(path))
    return study_from_data(data, lines, source=path, check_files=check_files)


def study_from_data(
    data: Any,
    lines: dict[Loc, int] | None = None,
    *,
    source: Path | None = None,
    check_files: bool = True,
) -> Study:
    """Validate already-parsed study data (see :func:`load_study`)."""
    lines = lines or {}
    file = str(source) if source is not None else "<study>"
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = _clean_loc(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling; `immunopet schema` lists the fields)"
            issues.append(StudyIssue(file, _line(lines, loc), format_loc(loc), msg))
        raise StudyFileError(issues) from None
    if source is not None:
        study._source = source.resolve()
        study._display = str(source)
    study._lines = dict(lines)
    issues = list(check_study(study, check_files=check_files))
    if issues:
        raise StudyFileError(issues)
    return study


def check_study(study: Study, *, check_files: bool = True) -> Iterator[StudyIssue]:
    """Semantic checks of a schema-valid study; yields one issue per problem."""
    file = study._display or (str(study.source) if study.source is not None else "<study>")

    def issue(loc: Loc, message: str) -> StudyIssue:
        return StudyIssue(file, study.line_of(loc), format_loc(loc), message)

    ids = Counter(s.id for s in study.subjects)
    seen: set[str] = set()
    for i, subject in enumerate(study.subjects):
        loc: Loc = ("subjects", i)
        if ids[subject.id] > 1 and subject.id in seen:
            yield issue((*loc, "id"), f"subject id {subject.id!r} is used more than once")
        seen.add(subject.id)
        yield from _check_subject(study, subject, loc, issue, check_files)

    groups_known = {k for s in study.subjects for k in s.groups}
    stats = study.analysis.statistics
    for j, comp in enumerate(stats.comparisons):
        for side in ("a", "b"):
            for key in getattr(comp, side).where:
                if key not in groups_known:
                    yield issue(
                        ("analysis", "statistics", "comparisons", j, side, "where", key),
                        f"no subject has a group {key!r} (known: {sorted(groups_known)})",
                    )
    for j, cut in enumerate(stats.cutoffs):
        if cut.group not in groups_known:
            yield issue(
                ("analysis", "statistics", "cutoffs", j, "group"),
                f"no subject has a group {cut.group!r} (known: {sorted(groups_known)})",
            )
    if study.preclinical is not None:
        yield from _check_preclinical(study, issue, check_files)


def _check_nuclide(name: str) -> str | None:
    from ..core.nuclides import Nuclide

    try:
        Nuclide.from_name(name)
    except ImmunopetError as exc:
        return str(exc)
    return None


def _check_subject(study, subject: Subject, loc: Loc, issue, check_files: bool):  # type: ignore[no-untyped-def]
    scan_ids = Counter(sc.id for sc in subject.scans)
    for sid, n in scan_ids.items():
        if n > 1:
            yield issue((*loc, "scans"), f"scan id {sid!r} is used {n} times in this subject")
    by_time: dict[tuple[str, float], int] = {}
    for k, scan in enumerate(subject.scans):
        sloc = (*loc, "scans", k)
        key = (scan.tracer.lower(), scan.time_h)
        if key in by_time:
            yield issue(
                (*sloc, "time"),
                f"two {scan.tracer} scans of subject {subject.id!r} at {scan.time} "
                f"(scans {subject.scans[by_time[key]].id!r} and {scan.id!r}); "
                "give each time point once",
            )
        by_time[key] = k
        problem = _check_nuclide(scan.nuclide)
        if problem:
            yield issue((*sloc, "nuclide"), problem)
        if check_files:
            yield from _check_scan_files(study, subject, scan, sloc, issue)

    lesion_opts = study.analysis.lesions
    if lesion_opts.enabled and subject.scans:
        refs = [sc for sc in subject.scans if sc.lesion_reference]
        if not refs:
            yield issue(
                (*loc, "scans"),
                f"subject {subject.id!r} has no lesion-reference scan; mark one scan "
                "`lesion_reference: true` (or set analysis.lesions.enabled: false)",
            )
        elif len(refs) > 1:
            yield issue(
                (*loc, "scans"),
                f"subject {subject.id!r} has {len(refs)} lesion-reference scans "
                f"({', '.join(r.id for r in refs)}); mark exactly one",
            )
        elif lesion_opts.reference_tracer and (
            lesion_opts.reference_tracer.lower() not in refs[0].tracer.lower()
        ):
            k = subject.scans.index(refs[0])
            yield issue(
                (*loc, "scans", k, "tracer"),
                f"lesion-reference scan {refs[0].id!r} is {refs[0].tracer!r}, but "
                f"analysis.lesions.reference_tracer is {lesion_opts.reference_tracer!r}",
            )


def _check_scan_files(study: Study, subject: Subject, scan: ScanEntry, sloc: Loc, issue):  # type: ignore[no-untyped-def]
    for field in ("path", "ct", "labels"):
        value = getattr(scan, field)
        if value is not None and not study.resolve(value).exists():
            yield issue(
                (*sloc, field),
                f"{study.resolve(value)} does not exist (paths are relative to the study file)",
            )
    mapping_file = None
    if scan.labels_from is not None and scan.labels_from.lower() != "totalsegmentator":
        mapping_file = study.resolve(scan.labels_from)
        if not mapping_file.is_file():
            yield issue(
                (*sloc, "labels_from"),
                f"{mapping_file} is neither 'totalsegmentator' nor an existing JSON file",
            )
            mapping_file = None
    if scan.labels is not None and study.resolve(scan.labels).exists():
        owner = label_map_patient_id(study.resolve(scan.labels), mapping_file)
        if owner is not None and owner not in {subject.id, subject.dicom_patient_id}:
            yield issue(
                (*sloc, "labels"),
                f"label map belongs to patient {owner!r}, not to subject {subject.id!r}; "
                "give this subject's own label map",
            )


def label_map_patient_id(path: Path, mapping_file: Path | None = None) -> str | None:
    """The patient a label map says it belongs to, if it says so.

    Looks at, in order: the DICOM PatientID (SEG / label series), a JSON sidecar
    next to a NIfTI (``PatientID`` or ``SubjectID``), the ``labels_from`` JSON.
    """
    candidates: list[Path] = []
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file())[:1]
    elif path.is_file():
        candidates = [path]
    for p in candidates:
        if p.suffix.lower() in {".nii", ".gz", ".json", ".nrrd", ".mha"}:
            continue
        try:
            import pydicom

            ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["PatientID"])
            pid = getattr(ds, "PatientID", None)
            if pid:
                return str(pid)
        except Exception:  # not DICOM: nothing to say
            pass
    sidecars = []
    if path.is_file():
        name = path.name
        for ext in (".nii.gz", ".nii", ".nrrd", ".mha"):
            if name.endswith(ext):
                sidecars.append(path.with_name(name[: -len(ext)] + ".json"))
    if mapping_file is not None:
        sidecars.append(mapping_file)
    for car in sidecars:
        if car.is_file():
            try:
                meta = json.loads(car.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict):
                for key in ("PatientID", "SubjectID", "subject"):
                    if isinstance(meta.get(key), str):
                        return meta[key]
    return None


def _check_preclinical(study: Study, issue, check_files: bool):  # type: ignore[no-untyped-def]
    arm = study.preclinical
    assert arm is not None
    base: Loc = ("preclinical",)
    problem = _check_nuclide(arm.nuclide)
    if problem:
        yield issue((*base, "nuclide"), problem)
    from ..core.timepoints import parse_time_label_h

    def bad_time(label: str) -> str | None:
        try:
            parse_time_label_h(label)
        except ValueError as exc:
            return str(exc)
        return None

    for j, t in enumerate(arm.time_points):
        if (msg := bad_time(t)) is not None:
            yield issue((*base, "time_points", j), msg)
    group_names = {g.name for g in arm.groups}
    animal_ids = Counter(a.id for a in arm.animals)
    for j, animal in enumerate(arm.animals):
        aloc = (*base, "animals", j)
        if animal_ids[animal.id] > 1:
            yield issue((*aloc, "id"), f"animal id {animal.id!r} is used more than once")
        if animal.group not in group_names:
            yield issue(
                (*aloc, "group"), f"unknown group {animal.group!r} (known: {sorted(group_names)})"
            )
        for t, p in animal.images.items():
            if (msg := bad_time(str(t))) is not None:
                yield issue((*aloc, "images", t), msg)
            if check_files and not study.resolve(p).exists():
                yield issue((*aloc, "images", t), f"{study.resolve(p)} does not exist")
        for u, up in enumerate(animal.uptake):
            if (msg := bad_time(up.time)) is not None:
                yield issue((*aloc, "uptake", u, "time"), msg)
        yield from _check_animal_vois(study, animal, aloc, issue, check_files)
    if (
        check_files
        and arm.uptake_table is not None
        and not study.resolve(arm.uptake_table).exists()
    ):
        yield issue((*base, "uptake_table"), f"{study.resolve(arm.uptake_table)} does not exist")


def _check_animal_vois(study: Study, animal, aloc: Loc, issue, check_files: bool):  # type: ignore[no-untyped-def]
    """An animal with images needs a way to find each VOI: a seed/centre or a label map."""
    arm = study.preclinical
    assert arm is not None
    for t, p in animal.labels.items():
        if t not in animal.images:
            yield issue((*aloc, "labels", t), f"label map for {t!r}, but no image at that time")
        if check_files and not study.resolve(p).exists():
            yield issue((*aloc, "labels", t), f"{study.resolve(p)} does not exist")
    if not animal.images:
        return
    labelled = all(t in animal.labels for t in animal.images)
    for region, field in (("tumour", "tumour_seed_mm"), ("muscle", "muscle_centre_mm")):
        if getattr(animal, field) is None and not (labelled and region in arm.label_values):
            yield issue(
                (*aloc, field),
                f"animal {animal.id!r} has images but no {field} and no label map with a "
                f"{region!r} label at every time: give {field} (LPS mm) or labels",
            )
