"""Location questions: the cascade every form starts with, and the lists behind it.

Small lists (divisions, districts, upazilas, provinces) are inline choices, so their labels switch
with the form language. Unions/pourashavas and Nepal's local levels are external CSVs
(``select_one_from_file``): see xlsforms/README.md for the sizes and load times behind this.
"""

from __future__ import annotations

from typing import Any

from .common import (
    T,
    bd_districts,
    bd_divisions,
    bd_upazilas,
    both_countries_districts,
    np_provinces,
    programme_districts,
    row,
)

REQUIRED = "yes"
BD = "${country} = 'bd'"
NP = "${country} = 'np'"
NOT_CITY = "not(starts-with(${upazila}, 'CC'))"

COUNTRY = T("Country", "দেশ", "देश")
DIVISION = T("Division", "বিভাগ", "डिभिजन (विभाग)")
PROVINCE = T("Province", "প্রদেশ", "प्रदेश")
DISTRICT = T("District", "জেলা", "जिल्ला")
UPAZILA = T("Upazila / city corporation", "উপজেলা / সিটি কর্পোরেশন", "उपजिला / सिटी कर्पोरेसन")
UNION = T("Union parishad / pourashava", "ইউনিয়ন পরিষদ / পৌরসভা", "युनियन परिषद् / पौरसभा")
LOCAL_LEVEL = T("Local level (palika)", "স্থানীয় সরকার (পালিকা)", "स्थानीय तह (पालिका)")
SEARCH_HINT = T("Type a few letters to find the name.", "নাম খুঁজতে কয়েকটি অক্ষর লিখুন।",
                "नाम खोज्न केही अक्षर टाइप गर्नुहोस्।")

# The local government's name, in the form language where the list is inline.
LG_NAME = (
    "if(${country} = 'np', instance('np_local_level')/root/item[name = ${local_level}]/label, "
    "if(${union} != '', instance('bd_union')/root/item[name = ${union}]/label, "
    "jr:choice-name(${upazila}, '${upazila}')))"
)
BD_LG_NAME = (
    "if(${union} != '', instance('bd_union')/root/item[name = ${union}]/label, "
    "jr:choice-name(${upazila}, '${upazila}'))"
)


def both_countries() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Forms 1 and 2: Bangladesh division → district → upazila → union, or Nepal province →
    district → local level. ``district`` is one field for both countries."""
    survey = [
        row("select_one country", "country", COUNTRY, required=REQUIRED),
        row("select_one bd_division", "division", DIVISION, required=REQUIRED, relevant=BD),
        row("select_one np_province", "province", PROVINCE, required=REQUIRED, relevant=NP),
        row("select_one district", "district", DISTRICT, required=REQUIRED,
            choice_filter="country = ${country} and region = if(${country} = 'bd', ${division}, ${province})",
            appearance="minimal"),
        row("select_one bd_upazila", "upazila", UPAZILA, required=REQUIRED, relevant=BD,
            choice_filter="district = ${district}", appearance="minimal"),
        row("select_one_from_file bd_union.csv", "union", UNION, required=REQUIRED,
            relevant=f"{BD} and {NOT_CITY}", choice_filter="upazila = ${upazila}",
            appearance="autocomplete", hint=SEARCH_HINT),
        row("select_one_from_file np_local_level.csv", "local_level", LOCAL_LEVEL, required=REQUIRED,
            relevant=NP, choice_filter="district = ${district}", appearance="autocomplete",
            hint=SEARCH_HINT),
        row("calculate", "lg_name", calculation=LG_NAME),
    ]
    districts = programme_districts()
    choices = {
        "country": [{"name": "bd", "label": T("Bangladesh", "বাংলাদেশ", "बंगलादेश")},
                    {"name": "np", "label": T("Nepal", "নেপাল", "नेपाल")}],
        "bd_division": bd_divisions(districts),
        "np_province": np_provinces(),
        "district": both_countries_districts(districts),
        "bd_upazila": bd_upazilas(districts),
    }
    return survey, choices


def bangladesh(*, with_union: bool, programme_only: bool = True,
               union_label: T = UNION) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Bangladesh-only forms: division → district → upazila (→ union)."""
    survey = [
        row("select_one bd_division", "division", DIVISION, required=REQUIRED),
        row("select_one bd_district", "district", DISTRICT, required=REQUIRED,
            choice_filter="division = ${division}"),
        row("select_one bd_upazila", "upazila", UPAZILA, required=REQUIRED,
            choice_filter="district = ${district}", appearance="minimal"),
    ]
    if with_union:
        survey.append(row("select_one_from_file bd_union.csv", "union", union_label,
                          required=REQUIRED, relevant=NOT_CITY,
                          choice_filter="upazila = ${upazila}", appearance="autocomplete",
                          hint=SEARCH_HINT))
    districts = programme_districts() if programme_only else None
    choices = {
        "bd_division": bd_divisions(districts),
        "bd_district": bd_districts(districts),
        "bd_upazila": bd_upazilas(districts),
    }
    return survey, choices
