"""The five real forms, built once, and ODK's own engine to fill them in tests.

    from tests import formtools
    built = formtools.built_forms()["hl_ballot"]            # BuiltForm (XForm bytes, media names)
    result = formtools.fill("hl_ballot", [("/data/division", "30"), ...])
    result.ok, result.xml, result.violations, result.options["/data/picks"]
    formtools.sample_submission("innovation_inspection")   # a realistic submission the engine accepts
    formtools.publish_all(session)                          # publish all five (with static media)

``fill`` talks to one long-running ``node tests/engine/fill.mjs --serve`` (ODK's
@getodk/xforms-engine; ``make test`` installs it), which loads each form only once per test run.
Answers are ``(path, value)`` pairs applied in order; ``/data/plans[2]/topic`` adds repeat rows.
Conversion runs ODK Validate (Java), so built forms are cached on disk, keyed by the XLSForm bytes.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import json
import pickle
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import forms

ROOT = Path(__file__).resolve().parent.parent
XLSFORMS = ROOT / "xlsforms"
MEDIA_DIR = XLSFORMS / "media"
ENGINE = Path(__file__).resolve().parent / "engine"
FORM_IDS = ("hl_action_plan", "hl_followup", "hl_nomination", "hl_ballot", "innovation_inspection")
CACHE = Path(tempfile.gettempdir()) / "sangjog-built-forms"


@functools.cache
def built_forms() -> dict[str, forms.BuiltForm]:
    """All five forms converted and validated; cached on disk until an .xlsx, forms.py, our
    workbook checks (form_checks.py) or pyxform changes."""
    built = {}
    code = (b"".join((ROOT / "pipeline" / name).read_bytes() for name in ("forms.py", "form_checks.py"))
            + importlib.metadata.version("pyxform").encode())
    for form_id in FORM_IDS:
        source = XLSFORMS / f"{form_id}.xlsx"
        key = hashlib.sha256(source.read_bytes() + code).hexdigest()[:24]
        cached = CACHE / f"{form_id}-{key}.pickle"
        if cached.exists():
            built[form_id] = pickle.loads(cached.read_bytes())
            continue
        built[form_id] = forms.convert(source)
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(built[form_id]))
    return built


def static_media(form_id: str) -> dict[str, bytes]:
    """The media files a form references, from xlsforms/media (sample generated CSVs included)."""
    return forms.static_media(built_forms()[form_id], MEDIA_DIR)


def publish_all(session: Any, actor: str = "test") -> dict[str, Any]:
    """Publish the five forms with their static media; returns FormVersion by form id."""
    return {
        form_id: forms.publish(session, built, (XLSFORMS / f"{form_id}.xlsx").read_bytes(),
                               static_media(form_id), actor).version
        for form_id, built in built_forms().items()
    }


@dataclass
class FillResult:
    ok: bool
    xml: bytes
    violations: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    relevant: dict[str, bool] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    option_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, str | None] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    load_ms: int = 0

    def violation(self, path: str) -> dict[str, str] | None:
        """The constraint/required violation on ``path`` (repeat index 1 may be omitted)."""
        wanted = _plain(path)
        return next((v for v in self.violations if _plain(v["path"]) == wanted), None)

    def error(self, path: str) -> dict[str, str] | None:
        wanted = _plain(path)
        return next((e for e in self.errors if _plain(e["path"]) == wanted), None)


def _plain(path: str) -> str:
    return path.replace("[1]", "")


class _Engine:
    """One ``node fill.mjs --serve`` process for the whole test run: each form loads once."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            process = self._start()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            raise RuntimeError("fill.mjs stopped; run it by hand to see why: "
                               "echo '{...}' | node tests/engine/fill.mjs")
        answer = json.loads(line)
        if "crash" in answer:
            raise RuntimeError(f"fill.mjs failed: {answer['crash']}")
        return answer

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            node = shutil.which("node")
            if node is None or not (ENGINE / "node_modules" / "@getodk" / "xforms-engine").is_dir():
                raise RuntimeError("ODK's form engine is not installed: run `make test` "
                                   "(or `cd tests/engine && npm install`).")
            self._process = subprocess.Popen([node, str(ENGINE / "fill.mjs"), "--serve"], cwd=ENGINE,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            atexit.register(self.close)
        return self._process

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            for stream in (self._process.stdout,):
                if stream is not None:
                    stream.close()
        self._process = None


_engine = _Engine()


def fill_xform(xform: bytes | str, answers: Iterable[Sequence[Any]],
               media: dict[str, bytes | str] | None = None, language: str | None = None) -> FillResult:
    """Fill any XForm with ODK's engine (see module docstring)."""
    out = _engine.ask({
        "xform": xform.decode("utf-8") if isinstance(xform, bytes) else xform,
        "media": {name: content.decode("utf-8") if isinstance(content, bytes) else content
                  for name, content in (media or {}).items()},
        "answers": [[path, value] for path, value in answers],
        "language": language,
    })
    return FillResult(ok=out["ok"], xml=out["instance_xml"].encode("utf-8"),
                      violations=out["violations"], errors=out["errors"], relevant=out["relevant"],
                      options=out["options"], option_labels=out["option_labels"],
                      values=out["values"], languages=out["languages"], load_ms=out["load_ms"])


def fill(form_id: str, answers: Iterable[Sequence[Any]], media: dict[str, bytes | str] | None = None,
         language: str | None = None) -> FillResult:
    """Fill one of the five forms; ``media`` replaces static media files by name."""
    return fill_xform(built_forms()[form_id].xml, answers, {**static_media(form_id), **(media or {})},
                      language)


# Realistic answers the engine accepts, one set per form (codes from shared/geo and the samples).
SAMPLE_ANSWERS: dict[str, list[tuple[str, Any]]] = {
    "hl_action_plan": [
        ("/data/country", "np"), ("/data/province", "3"), ("/data/district", "306"),
        ("/data/local_level", "30601"), ("/data/participant_name", "सीता शर्मा"),
        ("/data/position", "उपप्रमुख"), ("/data/plan_count", "2"),
        ("/data/plans[1]/topic", "solid_waste"),
        ("/data/plans[1]/practice", "घरघरबाट फोहोर सङ्कलन र छुट्याउने अभ्यास"),
        ("/data/plans[1]/implementation", "वडा समितिमार्फत घरधुरी सचेतना र सङ्कलन तालिका"),
        ("/data/plans[1]/expected_results", "खुला ठाउँमा फोहोर फाल्ने काम घट्ने"),
        ("/data/plans[1]/verification", "वडा कार्यालयको मासिक प्रतिवेदन"),
        ("/data/plans[2]/topic", "revenue"),
        ("/data/plans[2]/practice", "सम्पत्ति करको डिजिटल अभिलेख"),
        ("/data/plans[2]/implementation", "नगरपालिकाको राजस्व शाखामा सफ्टवेयर प्रयोग"),
        ("/data/plans[2]/expected_results", "कर सङ्कलन २०% ले बढ्ने"),
        ("/data/plans[2]/verification", "आर्थिक वर्षको राजस्व विवरण"),
        ("/data/date_prepared", "2026-10-20"), ("/data/place", "शंखरापुर नगरपालिका, काठमाडौं"),
        ("/data/signature", "signature.png"),
    ],
    "hl_followup": [
        ("/data/country", "bd"), ("/data/division", "30"), ("/data/district", "3033"),
        ("/data/upazila", "303334"), ("/data/union", "30333415"),
        ("/data/action_plan", "5d1c6a52-8b0e-4c7e-9f0a-3b2d1e4f5a61"),
        ("/data/participant_name", "রহিমা বেগম"), ("/data/position", "ইউপি সদস্য (সংরক্ষিত)"),
        ("/data/period_type", "quarterly"), ("/data/period_start", "2026-07-01"),
        ("/data/period_end", "2026-09-30"), ("/data/result_count", "1"),
        ("/data/results[1]/tried", "yes"),
        ("/data/results[1]/practice", "ওয়ান-স্টপ জন্ম নিবন্ধন ডেস্ক"),
        ("/data/results[1]/result", "নিবন্ধনের সময় ৭ দিন থেকে ১ দিনে নেমেছে"),
        ("/data/results[1]/verification", "ইউনিয়ন পরিষদের নিবন্ধন খাতা"),
        ("/data/officer_name", "মোঃ করিম উদ্দিন"), ("/data/plan_date", "2026-06-15"),
        ("/data/followup_date", "2026-10-05"),
    ],
    "hl_nomination": [
        ("/data/division", "30"), ("/data/district", "3033"), ("/data/upazila", "303334"),
        ("/data/workshop_date", "2026-11-02"), ("/data/union", "30333417"),
        ("/data/practice_title", "প্রতি ত্রৈমাসিকে ওয়ার্ড সভা"),
        ("/data/practice_description", "প্রতিটি ওয়ার্ডে নিয়মিত সভা করে নাগরিকদের চাহিদা তালিকাভুক্ত করা হয়।"),
        ("/data/indicators[1]/indicator", "বছরে অন্তত ৪টি ওয়ার্ড সভা"),
        ("/data/indicators[2]/indicator", "সভায় নারীদের অংশগ্রহণ ৪০% এর বেশি"),
    ],
    "hl_ballot": [
        ("/data/division", "30"), ("/data/district", "3033"), ("/data/upazila", "303334"),
        ("/data/voter_name", "আব্দুল হামিদ"), ("/data/voter_role", "up_chairman"),
        ("/data/picks", ["0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c02", "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c04",
                         "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c01"]),
        ("/data/priority", ["0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c04", "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c01",
                            "0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c02"]),
    ],
    "innovation_inspection": [
        ("/data/division", "55"), ("/data/district", "5527"), ("/data/upazila", "552710"),
        ("/data/project", "DNJ-2026-001"), ("/data/inspector_name", "ফারহানা ইয়াসমিন"),
        ("/data/inspector_role", "adc"), ("/data/visit_date", "2026-11-10"),
        ("/data/stage", "pilot_running"), ("/data/progress", "60"), ("/data/on_plan", "yes"),
        ("/data/time_before", "21"), ("/data/time_after", "3"), ("/data/cost_before", "1500"),
        ("/data/cost_after", "200"), ("/data/visits_before", "4"), ("/data/visits_after", "1"),
        ("/data/citizen_feedback", "নাগরিকেরা এখন অনলাইনে আবেদন করে এসএমএসে ফল পান।"),
        ("/data/obstacles", "ইউনিয়ন ডিজিটাল সেন্টারে ইন্টারনেট ধীর।"),
        ("/data/guidance", "উপজেলা আইসিটি অফিসারের সাথে সংযোগ উন্নত করুন।"),
        ("/data/recommendation", "scale_district"),
        ("/data/photos[1]/photo", "desk.jpg"), ("/data/photos[1]/caption", "সেবা ডেস্ক"),
        ("/data/photos[2]/photo", "queue.jpg"), ("/data/photos[2]/caption", "অপেক্ষমাণ নাগরিক"),
        ("/data/location", "25.6279 88.6332 35.0 4.5"), ("/data/signature", "signature.png"),
    ],
}


def sample_submission(form_id: str) -> bytes:
    """A realistic submission of ``form_id``, exactly as the engine would send it."""
    result = fill(form_id, SAMPLE_ANSWERS[form_id])
    if not result.ok:
        raise AssertionError(f"sample answers for {form_id} refused: {result.violations} {result.errors}")
    return result.xml
