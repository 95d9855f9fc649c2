"""Every text a person reads in the forms exists in English, Bengali and Nepali, in the right script.

Reads the .xlsx sources (what a designer edits), the media CSVs shipped with them, and the built
XForms (what phones get), so a missing translation fails here whichever way it slipped in.
"""

from __future__ import annotations

import csv
import re

import pytest
from defusedxml import ElementTree
from openpyxl import load_workbook

from tests import formtools

LANGUAGES = ("English (en)", "Bengali (bn)", "Nepali (ne)")
TRANSLATED = ("label", "hint", "constraint_message", "required_message")
XF = "{http://www.w3.org/2002/xforms}"
BENGALI = re.compile(r"[\u0980-\u09FF]")
DEVANAGARI = re.compile(r"[\u0900-\u0963\u0966-\u097F]")  # the danda । is shared
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
NO_LABEL_TYPES = {"calculate", "end repeat", "end group", "today", "start", "end", "deviceid"}


def _sheet(form_id: str, name: str) -> list[dict[str, object]]:
    book = load_workbook(formtools.XLSFORMS / f"{form_id}.xlsx", read_only=True)
    rows = list(book[name].iter_rows(values_only=True))
    book.close()
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=False)) for r in rows[1:] if any(r)]


def _check_script(where: str, language: str, text: str) -> None:
    if language == "Bengali (bn)":
        assert not DEVANAGARI.search(text), f"{where}: Nepali script in the Bengali text: {text}"
    if language == "Nepali (ne)":
        assert not BENGALI.search(text), f"{where}: Bengali script in the Nepali text: {text}"
    if language == "English (en)":
        assert not (BENGALI.search(text) or DEVANAGARI.search(text)), f"{where}: not English: {text}"


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_every_survey_text_exists_in_all_three_languages(form_id):
    for number, row in enumerate(_sheet(form_id, "survey"), start=2):
        needs_label = str(row["type"]) not in NO_LABEL_TYPES
        for column in TRANSLATED:
            texts = {lang: row.get(f"{column}::{lang}") for lang in LANGUAGES}
            assert row.get(column) is None, f"survey row {number}: untranslated '{column}' column"
            if any(texts.values()) or (column == "label" and needs_label):
                for lang, text in texts.items():
                    assert text and str(text).strip(), f"{form_id} survey row {number} ({row['name']}): no {column}::{lang}"
                    _check_script(f"{form_id} survey row {number}", lang, str(text))


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_every_choice_exists_in_all_three_languages(form_id):
    for number, row in enumerate(_sheet(form_id, "choices"), start=2):
        for lang in LANGUAGES:
            text = row.get(f"label::{lang}")
            assert text and str(text).strip(), f"{form_id} choices row {number} ({row['name']}): no label::{lang}"
            # Place names stand in with their English spelling where a script has none (README).
            if row["list_name"] not in ("bd_division", "bd_district", "bd_upazila", "np_province", "district"):
                _check_script(f"{form_id} choices row {number}", lang, str(text))


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_settings_name_the_form_language_and_instance(form_id):
    [settings] = _sheet(form_id, "settings")
    assert settings["form_id"] == form_id
    assert settings["default_language"] in LANGUAGES
    assert "${" in str(settings["instance_name"])


def test_every_media_csv_row_has_all_three_labels_and_plain_column_names():
    files = sorted(formtools.MEDIA_DIR.glob("*.csv"))
    assert {f.name for f in files} >= {"bd_union.csv", "np_local_level.csv", "ballot_candidates.csv",
                                       "innovation_projects.csv", "action_plans.csv"}
    for path in files:
        with path.open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            assert columns[:5] == ["name", "label", "label_en", "label_bn", "label_ne"], path.name
            # ODK's engines make each column an element: `label::English (en)` breaks loading.
            assert all(XML_NAME.match(c) for c in columns), (path.name, columns)
            rows = list(reader)
        assert rows, path.name
        for number, row in enumerate(rows, start=2):
            for column in ("name", "label", "label_en", "label_bn", "label_ne"):
                assert row[column].strip(), f"{path.name} row {number}: empty {column}"
            assert row["label_en"] in row["label"], f"{path.name} row {number}: label lacks English"


@pytest.mark.parametrize("form_id", formtools.FORM_IDS)
def test_built_xforms_carry_three_complete_translations(built_forms, form_id):
    model = ElementTree.fromstring(built_forms[form_id].xml).find(
        "{http://www.w3.org/1999/xhtml}head/" + f"{XF}model")
    translations = {t.get("lang"): t for t in model.find(f"{XF}itext")}
    assert set(translations) == set(LANGUAGES)
    ids = {lang: {text.get("id") for text in t} for lang, t in translations.items()}
    assert ids["English (en)"] == ids["Bengali (bn)"] == ids["Nepali (ne)"]
    for lang, translation in translations.items():
        for text in translation:
            for value in text.findall(f"{XF}value"):
                # pyxform writes "-" where a translation is missing.
                assert (value.text or "").strip() not in ("", "-"), f"{form_id} {lang} {text.get('id')}"


def test_the_engine_shows_the_form_in_each_language():
    answers = formtools.SAMPLE_ANSWERS["hl_ballot"][:3]
    labels = {lang: formtools.fill("hl_ballot", answers, language=lang).option_labels["/data/voter_role"]
              for lang in ("en", "bn", "ne")}
    assert labels["en"]["uno"] == "Upazila nirbahi officer (UNO)"
    assert labels["bn"]["uno"] == "উপজেলা নির্বাহী অফিসার (ইউএনও)"
    assert labels["ne"]["uno"] == "उपजिला कार्यकारी अधिकृत (UNO)"
