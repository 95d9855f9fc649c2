"""Form 2 — follow-up of results (Nepal handbook "फाराम नं. २"), for both countries."""

from __future__ import annotations

from . import locations
from .common import (
    NOT_FUTURE,
    NOT_FUTURE_MESSAGE,
    ONE_TO_FIVE,
    ONE_TO_FIVE_MESSAGE,
    T,
    row,
    settings,
)

FORM_ID = "hl_followup"

PERIOD_TYPES = [
    ("quarterly", T("Quarterly", "ত্রৈমাসিক", "त्रैमासिक")),
    ("half_yearly", T("Half-yearly", "ষাণ্মাসিক", "अर्धवार्षिक")),
    ("annual", T("Annual", "বার্ষিক", "वार्षिक")),
]

# Plans of this local government from the generated action_plans.csv (may be empty).
PLAN_FILTER = ("district = ${district} and "
               "if(${country} = 'bd', upazila = ${upazila}, local_level = ${local_level})")


def build():
    location_rows, choices = locations.both_countries()
    survey = [
        row("note", "intro", T(
            "Form 2: results obtained from applying the good practices learned at the peer-learning workshop (follow-up).",
            "ফরম ২: পারস্পরিক শিখন কর্মশালায় শেখা ভালো শিখন প্রয়োগ করে পাওয়া ফলাফল (ফলো-আপ)।",
            "फाराम नं. २: आपसी सिकाइ कार्यशालामा सिकेका असल अभ्यासहरू लागू गर्दा प्राप्त भएका नतिजाहरू (फलोअप)।")),
        *location_rows,
        row("select_one_from_file action_plans.csv", "action_plan",
            T("Action plan (Form 1) being followed up", "যে কর্মপরিকল্পনার (ফরম ১) ফলো-আপ করা হচ্ছে",
              "फलोअप गरिएको कार्ययोजना (फाराम नं. १)"),
            choice_filter=PLAN_FILTER, appearance="autocomplete",
            hint=T("Leave empty if the plan is not in the list.", "তালিকায় না থাকলে খালি রাখুন।",
                   "सूचीमा नभए खाली छोड्नुहोस्।")),
        row("text", "participant_name", T("Name of the workshop participant", "কর্মশালায় অংশগ্রহণকারীর নাম",
                                          "आपसी सिकाइ कार्यशालामा सहभागी भएका व्यक्तिको नाम, थर"),
            required="yes"),
        row("text", "position", T("Position / designation", "পদবি", "पद"), required="yes"),
        row("select_one period_type", "period_type", T("Reporting period", "প্রতিবেদনের সময়কাল", "प्रतिवेदन अवधि"),
            required="yes"),
        row("date", "period_start", T("Period start", "সময়কালের শুরু", "अवधि सुरु मिति"), required="yes"),
        row("date", "period_end", T("Period end", "সময়কালের শেষ", "अवधि अन्त्य मिति"), required="yes",
            constraint=". >= ${period_start}",
            constraint_message=T("The period cannot end before it starts.", "সময়কাল শুরুর আগে শেষ হতে পারে না।",
                                 "अवधि सुरु हुनुअघि अन्त्य हुन सक्दैन।")),
        row("integer", "result_count", T("How many good practices were tried (1–5)?",
                                         "কয়টি ভালো শিখন প্রয়োগের চেষ্টা করা হয়েছে (১–৫)?",
                                         "कतिवटा असल अभ्यास लागू गर्ने प्रयास गरियो (१–५)?"),
            required="yes", constraint=ONE_TO_FIVE, constraint_message=ONE_TO_FIVE_MESSAGE),
        row("begin repeat", "results", T("Good practice tried", "প্রয়োগ করা ভালো শিখন", "लागू गर्न प्रयास गरिएको असल अभ्यास"),
            repeat_count="${result_count}"),
        row("text", "practice", T("Which good practice was tried in your local government?",
                                  "আপনার স্থানীয় সরকারে কোন ভালো শিখন প্রয়োগের চেষ্টা করা হয়েছে?",
                                  "आफ्नो स्थानीय तहमा लागू गर्न प्रयास गरिएको असल अभ्यास के थियो?"), required="yes"),
        row("text", "result", T("Results obtained", "প্রাপ্ত ফলাফল", "प्राप्त भएका नतिजाहरू"), required="yes"),
        row("text", "verification", T("Means of verification", "যাচাইয়ের উপায়", "पुष्ट्याईका आधारहरू"), required="yes"),
        row("end repeat"),
        row("text", "officer_name", T("Name of the follow-up officer", "ফলো-আপকারী কর্মকর্তার নাম",
                                      "फलोअप गर्ने व्यक्तिको नाम"), required="yes"),
        row("date", "plan_date", T("Date the action plan was prepared", "কর্মপরিকল্পনা তৈরির তারিখ",
                                   "कार्ययोजना तयार गरिएको मिति"),
            required="yes", constraint=NOT_FUTURE, constraint_message=NOT_FUTURE_MESSAGE),
        row("date", "followup_date", T("Follow-up date", "ফলো-আপের তারিখ", "फलोअप गरेको मिति"),
            required="yes", default="today()", constraint=". >= ${plan_date} and . <= today()",
            constraint_message=T(
                "The follow-up date cannot be before the action plan date or in the future.",
                "ফলো-আপের তারিখ কর্মপরিকল্পনার তারিখের আগে বা ভবিষ্যতে হতে পারে না।",
                "फलोअप मिति कार्ययोजना मितिभन्दा अघि वा भविष्यको हुन सक्दैन।")),
    ]
    choices["period_type"] = [{"name": name, "label": label} for name, label in PERIOD_TYPES]
    return survey, choices, settings(
        FORM_ID, "Peer-learning follow-up of results (Form 2)",
        "concat(${participant_name}, ' – ', ${lg_name}, ' – ', ${followup_date})", "English (en)")
