"""XLSForm → XForm (pyxform + ODK Validate) and publishing form versions.

The only module that imports pyxform. ``convert`` is pure apart from running ODK Validate (Java);
``publish`` and ``set_state`` write the app tables, ``build_all`` writes files for a build folder.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import caches, form_checks, problems, xform
from .db import end_read, write_transaction
from .models import FORM_STATES, AuditEvent, Form, FormMedia, FormVersion

# Every way an XForm points at a media file: attached CSV/XML instances, images, audio, video.
MEDIA_REF = re.compile(r"jr://(?:file|file-csv|images|audio|video)/([^\"'<>\s]+)")
PYXFORM_ROW = re.compile(r"\[row\s*:\s*(\d+)\]\s*")
SHEET_NAME = re.compile(r"On the '(\w+)' sheet")
FIELD_REF = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class BuiltForm:
    form_id: str
    version: str
    title: str
    xml: bytes
    media: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    instance_name: str | None = None

    @property
    def md5(self) -> str:
        return hashlib.md5(self.xml).hexdigest()


def convert(source: bytes | str | Path, filename: str = "form.xlsx") -> BuiltForm:
    """Convert one XLSForm and check it with ODK Validate; raise ``form.invalid`` if broken."""
    from pyxform.errors import PyXFormError
    from pyxform.validators.odk_validate import ODKValidateError
    from pyxform.xls2xform import convert as pyxform_convert

    if isinstance(source, (str, Path)):
        filename = Path(source).name
        content = Path(source).read_bytes()
    else:
        content = source
    suffix = PurePath(filename).suffix.lower() or ".xlsx"
    # Our own checks read the whole workbook, so every mistake shows at once; pyxform's and
    # ODK Validate's messages are added for rows the checks did not already point at.
    found = _workbook_errors(content) if suffix == ".xlsx" else []
    warnings: list[str] = []
    try:
        result = pyxform_convert(
            io.BytesIO(content), warnings=warnings, validate=True, file_type=suffix
        )
    except ODKValidateError as exc:
        errors = _merge(found, _validate_errors(str(exc), content, suffix))
        raise problems.invalid_form(_summary(filename, "fails ODK Validate", errors),
                                    errors) from None
    except OSError as exc:  # Java is missing: the server's fault, not the form's
        raise problems.validator_unavailable(str(exc)) from None
    except PyXFormError as exc:
        message = str(exc)
        if "not recognized as a supported type" in message or "not a supported type" in message:
            message = f"The file could not be read as an XLSForm workbook ({suffix}): save it from Excel as .xlsx."
        errors = _merge(found, [_pyxform_error(message)])
        raise problems.invalid_form(_summary(filename, "is not a valid XLSForm", errors),
                                    errors) from None
    except Exception as exc:  # pyxform fails in other ways on some malformed sheets
        errors = _merge(found, [{"sheet": None, "row": None,
                                 "message": f"{type(exc).__name__}: {exc}"}])
        raise problems.invalid_form(f"{filename} could not be converted: {exc}", errors) from None
    if found:  # pyxform let it through, but the form would not work as written
        raise problems.invalid_form(_summary(filename, "is not a valid XLSForm", found), found)
    xml = result.xform.encode("utf-8")
    form_id, version, title, instance_name = _identity(xml)
    if not version:
        raise problems.invalid_form(
            f"{filename} has no version: set 'version' in the settings sheet",
            [{"sheet": "settings", "row": 2, "message": "The 'version' column is empty."}],
        )
    return BuiltForm(
        form_id=form_id,
        version=version,
        title=title,
        xml=xml,
        media=media_names(xml),
        warnings=[w for w in warnings if w.strip()],
        instance_name=instance_name,
    )


def media_names(xml: bytes) -> list[str]:
    """File names (no folders) of every media file the XForm references, sorted."""
    text = xml.decode("utf-8")
    return sorted({PurePath(ref).name for ref in MEDIA_REF.findall(text)})


def _identity(xml: bytes) -> tuple[str, str, str, str | None]:
    try:
        return xform.read(xml).identity
    except ValueError:
        raise problems.invalid_form("The XForm has no primary instance") from None


def _workbook_errors(content: bytes) -> list[dict[str, Any]]:
    from pyxform import aliases
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

    selects = {alias.replace("_", " ") for alias in aliases.select} | set(aliases.select)
    from_file = {a for a in selects if "from file" in a or "from_file" in a}
    return form_checks.check(content, {t.lower() for t in QUESTION_TYPE_DICT},
                             selects - from_file, from_file)


def _merge(found: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our checks' errors, then pyxform's / ODK Validate's for rows not already pointed at."""
    rows = {(e["sheet"], e["row"]) for e in found if e.get("row")}
    return found + [e for e in more if not e.get("row") or (e["sheet"], e["row"]) not in rows]


def _summary(filename: str, what: str, errors: list[dict[str, Any]]) -> str:
    first = _describe(errors[0])
    if len(errors) == 1:
        return f"{filename} {what}: {first}"
    return f"{filename} {what}: {len(errors)} problems to fix, the first: {first}"


def _describe(error: dict[str, Any]) -> str:
    where = f"{error['sheet']} sheet, row {error['row']}: " if error.get("row") else ""
    return where + error["message"]


def _pyxform_error(message: str) -> dict[str, Any]:
    row_match = PYXFORM_ROW.search(message)
    sheet_match = SHEET_NAME.search(message)
    text = PYXFORM_ROW.sub("", message).strip()
    return {
        "sheet": sheet_match.group(1) if sheet_match else ("survey" if row_match else None),
        "row": int(row_match.group(1)) if row_match else None,
        "message": text,
    }


def _validate_errors(message: str, content: bytes, suffix: str) -> list[dict[str, Any]]:
    """ODK Validate names fields as ``${name}``; point each error at that field's survey row."""
    rows = _survey_rows(content) if suffix == ".xlsx" else {}
    errors = []
    for line in message.splitlines():
        line = line.strip(" :")
        if (not line or line.startswith(("ODK Validate Errors", ">> XForm is invalid", "Result:",
                                         "The following files failed"))
                or re.fullmatch(r"\$\{tmp\w+\}", line)):
            continue
        names = FIELD_REF.findall(line)
        name = names[0] if names else None
        readable = re.sub(r"^bind for \$\{(\w+)\}", r"Field '\1'", line)
        readable = re.sub(r"node \[\$\{(\w+)\}\]", r"field '\1'", readable)
        readable = readable.replace("display condition", "relevant condition")
        errors.append({
            "sheet": "survey" if name else None,
            "row": rows.get(name) if name else None,
            "field": name,
            "message": readable,
        })
    return errors or [{"sheet": None, "row": None, "message": message.strip()}]


def _survey_rows(content: bytes) -> dict[str, int]:
    """Map each survey ``name`` to its spreadsheet row number (header is row 1)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # a file pyxform could read but openpyxl cannot: no row numbers then
        return {}
    if "survey" not in book.sheetnames:
        return {}
    rows = iter(book["survey"].iter_rows(values_only=True))
    header = [str(c or "").strip() for c in next(rows, ())]
    if "name" not in header:
        return {}
    col = header.index("name")
    found = {}
    for number, row in enumerate(rows, start=2):
        if col < len(row) and row[col]:
            found.setdefault(str(row[col]).strip(), number)
    book.close()
    return found


@dataclass(frozen=True)
class Published:
    """What ``publish`` did: ``new`` is False when this very form was already published (the
    same XForm under the same version), and then nothing was changed."""

    version: FormVersion
    new: bool


def publish(
    session: Session,
    built: BuiltForm,
    xlsx: bytes | None,
    media: dict[str, bytes],
    actor: str | None,
) -> Published:
    """Publish a converted form; the same version with the same XML is returned as it is."""
    try:
        return _publish(session, built, xlsx, media, actor)
    except IntegrityError:
        # Another admin published this form at the same moment (the write transaction rolled
        # back): answer as if we came second.
        existing = _existing_version(session, built)
        end_read(session)
        if existing is None:
            raise
        if existing.md5 == built.md5:
            return Published(existing, new=False)
        raise problems.form_version_exists(built.form_id, built.version) from None


def identical_version(session: Session, xlsx: bytes) -> FormVersion | None:
    """The version published from exactly these XLSForm bytes, if any: re-uploading it changes
    nothing, so the caller can say so without running ODK Validate (seconds) again."""
    return session.scalar(select(FormVersion).where(FormVersion.xlsx == xlsx)
                          .order_by(FormVersion.id).limit(1))


def _existing_version(session: Session, built: BuiltForm) -> FormVersion | None:
    return session.scalar(
        select(FormVersion).join(Form).where(Form.xml_form_id == built.form_id,
                                             FormVersion.version == built.version))


def _publish(session: Session, built: BuiltForm, xlsx: bytes | None, media: dict[str, bytes],
             actor: str | None) -> Published:
    with write_transaction(session):
        existing = _existing_version(session, built)
        if existing is None:
            version = _add_version(session, built, xlsx, media, actor)
        elif existing.md5 != built.md5:
            raise problems.form_version_exists(built.form_id, built.version)
    if existing is not None:
        return Published(existing, new=False)
    caches.clear_all()  # a new version: what this process kept is read afresh
    return Published(version, new=True)


def _add_version(session: Session, built: BuiltForm, xlsx: bytes | None,
                 media: dict[str, bytes], actor: str | None) -> FormVersion:
    form = session.scalar(select(Form).where(Form.xml_form_id == built.form_id))
    if form is None:
        form = Form(xml_form_id=built.form_id, title=built.title, state="open")
        session.add(form)
    form.title = built.title
    version = FormVersion(
        form=form,
        version=built.version,
        title=built.title,
        xml=built.xml,
        md5=built.md5,
        xlsx=xlsx,
        media=list(built.media),
        warnings=list(built.warnings),
        published_by=actor,
    )
    session.add(version)
    for name in built.media:
        if name in media:
            content = media[name]
            session.add(FormMedia(form_version=version, name=name, content=content,
                                  md5=hashlib.md5(content).hexdigest()))
    session.flush()
    session.add(AuditEvent(
        actor=actor or "system",
        action="form.publish",
        form_id=form.id,
        details={"xml_form_id": built.form_id, "version": built.version, "md5": built.md5,
                 "media": sorted(set(built.media) & set(media)),
                 "media_missing": sorted(set(built.media) - set(media))},
    ))
    return version


def fillable_version(session: Session, xml_form_id: str) -> FormVersion:
    """The newest version of a form that still takes submissions (open or closing), for every
    door that hands a form out to fill; 404 ``unknown_form`` otherwise."""
    # The newest version only: a form with many versions would otherwise load them all.
    version = session.scalar(
        select(FormVersion).join(Form, FormVersion.form_id == Form.id)
        .where(Form.xml_form_id == xml_form_id, Form.state != "closed")
        .order_by(FormVersion.id.desc()).limit(1))
    if version is None:
        raise problems.unknown_form(xml_form_id)
    return version


def set_state(session: Session, xml_form_id: str, state: str, actor: str | None) -> Form:
    """Open, close for new downloads (``closing``) or close a form for submissions."""
    if state not in FORM_STATES:
        raise problems.bad_form_state(state)
    with write_transaction(session):
        form = session.scalar(select(Form).where(Form.xml_form_id == xml_form_id))
        if form is None:
            raise problems.unknown_form(xml_form_id)
        previous = form.state
        form.state = state
        session.add(AuditEvent(actor=actor or "system", action="form.state", form_id=form.id,
                               from_state=previous, to_state=state,
                               details={"xml_form_id": xml_form_id}))
    return form


def build_all(src_dir: str | Path, out_dir: str | Path) -> list[BuiltForm]:
    """Convert every ``*.xlsx`` in src_dir to ``{form_id}.xml`` in out_dir, with its media.

    Media files are looked up in ``src_dir/media``; any missing one is reported as a warning.
    """
    src, out = Path(src_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    built_forms = []
    for path in sorted(src.glob("*.xlsx")):
        if path.name.startswith("~$"):  # Excel's lock file while a designer has the form open
            continue
        built = convert(path)
        (out / f"{built.form_id}.xml").write_bytes(built.xml)
        for name in built.media:
            media_file = src / "media" / name
            if media_file.is_file():
                shutil.copyfile(media_file, out / name)
            else:
                built.warnings.append(f"Media file '{name}' is not in {src / 'media'}.")
        built_forms.append(built)
    return built_forms


def static_media(built: BuiltForm, media_dir: str | Path) -> dict[str, bytes]:
    """The media files of ``built`` found in ``media_dir``, by name."""
    folder = Path(media_dir)
    return {name: (folder / name).read_bytes()
            for name in built.media if (folder / name).is_file()}
