"""Good-practice nomination at a Bangladesh HLP upazila/pourashava workshop: one per practice."""

from __future__ import annotations

from . import locations
from .common import DEFAULT_LANGUAGE, NOT_FUTURE, NOT_FUTURE_MESSAGE, T, row, settings

FORM_ID = "hl_nomination"


def build():
    location_rows, choices = locations.bangladesh(
        with_union=True,
        union_label=T("Union parishad / pourashava nominating the practice",
                      "ভালো শিখন উপস্থাপনকারী ইউনিয়ন পরিষদ / পৌরসভা",
                      "असल अभ्यास प्रस्तुत गर्ने युनियन परिषद् / पौरसभा"))
    workshop = location_rows[:3]
    nominating_union = location_rows[3:]
    survey = [
        row("note", "intro", T(
            "Nomination of a good practice at the upazila / pourashava workshop. Fill one form for each practice.",
            "উপজেলা / পৌরসভা কর্মশালায় ভালো শিখনের মনোনয়ন। প্রতিটি ভালো শিখনের জন্য একটি ফরম পূরণ করুন।",
            "उपजिला / पौरसभा कार्यशालामा असल अभ्यासको मनोनयन। प्रत्येक असल अभ्यासका लागि एउटा फाराम भर्नुहोस्।")),
        *workshop,
        row("date", "workshop_date", T("Workshop date", "কর্মশালার তারিখ", "कार्यशालाको मिति"),
            required="yes", default="today()", constraint=NOT_FUTURE, constraint_message=NOT_FUTURE_MESSAGE),
        *nominating_union,
        row("text", "practice_title", T("Title of the good practice", "ভালো শিখনের শিরোনাম", "असल अभ्यासको शीर्षक"),
            required="yes"),
        row("text", "practice_description", T("Description of the good practice", "ভালো শিখনের বিবরণ",
                                              "असल अभ्यासको विवरण"),
            required="yes", appearance="multiline",
            hint=T("What was done, for whom, and what changed.", "কী করা হয়েছে, কাদের জন্য এবং কী পরিবর্তন হয়েছে।",
                   "के गरियो, कसका लागि, र के परिवर्तन भयो।")),
        row("begin repeat", "indicators", T("Indicator", "সূচক", "सूचक")),
        row("text", "indicator", T("Indicator of the good practice", "ভালো শিখনের সূচক", "असल अभ्यासको सूचक"),
            required="yes", hint=T("Add one indicator per row.", "প্রতি সারিতে একটি সূচক যোগ করুন।",
                                   "प्रत्येक पङ्क्तिमा एउटा सूचक थप्नुहोस्।")),
        row("end repeat"),
        row("calculate", "union_name", calculation=locations.BD_LG_NAME),
    ]
    return survey, choices, settings(
        FORM_ID, "HLP workshop: good-practice nomination",
        "concat(${practice_title}, ' – ', ${union_name}, ' – ', ${workshop_date})", DEFAULT_LANGUAGE)
