"""Form 2 — follow-up of results (Nepal handbook "फाराम नं. २"), for both countries."""

from __future__ import annotations

from . import locations
from .common import (
    DEFAULT_LANGUAGE,
    NOT_FUTURE,
    NOT_FUTURE_MESSAGE,
    ONE_TO_FIVE,
    ONE_TO_FIVE_MESSAGE,
    T,
    YES_NO,
    row,
    settings,
    with_bikram_sambat,
)

FORM_ID = "hl_followup"

PERIOD_TYPES = [
    ("quarterly", T("Quarterly", "ত্রৈমাসিক", "त्रैमासिक")),
    ("half_yearly", T("Half-yearly", "ষাণ্মাসিক", "अर्धवार्षिक")),
    ("annual", T("Annual", "বার্ষিক", "वार्षिक")),
]

# Plans of this district from the generated action_plans.csv (may be empty). Choosing one fills
# in the plan's local government, participant, position, date and practices (each stays
# editable): ``setvalue`` on the plan's change (XLSForm ``trigger``), which JavaRosa (Collect)
# and ODK Web Forms both run; ``tests/test_forms_followup.py`` fills it with both.
PLAN_FILTER = "district = ${district}"
PLAN = "instance('action_plans')/root/item[name = ${action_plan}]"
MAX_PRACTICES = 5


def from_plan(field: str, column: str | None = None) -> dict[str, str]:
    """Set ``field`` from the chosen plan's ``column`` whenever the plan changes; an emptied plan
    leaves what was there."""
    return {"calculation": f"if(${{action_plan}} = '', ${{{field}}}, {PLAN}/{column or field})",
            "trigger": "${action_plan}"}


# The n-th practice of the plan, for the n-th row of the follow-up's repeat.
PLAN_PRACTICE = "".join(f"if(position(..) = {n}, {PLAN}/practice_{n}, " for n in range(1, MAX_PRACTICES + 1)) \
    + "''" + ")" * MAX_PRACTICES


def build():
    location_rows, choices = locations.both_countries()
    by_name = {r["name"]: r for r in location_rows}
    country_to_district = [by_name[n] for n in ("country", "division", "province", "district")]
    local_government = [{**by_name[n], **from_plan(n)} for n in ("upazila", "union", "local_level")]
    survey = [
        row("note", "intro", T(
            "Form 2: results obtained from applying the good practices learned at the peer-learning workshop (follow-up).",
            "ফরম ২: পারস্পরিক শিখন কর্মশালায় শেখা ভালো শিখন প্রয়োগ করে পাওয়া ফলাফল (ফলো-আপ)।",
            "फाराम नं. २: आपसी सिकाइ कार्यशालामा सिकेका असल अभ्यासहरू लागू गर्दा प्राप्त भएका नतिजाहरू (फलोअप)।")),
        *country_to_district,
        row("select_one_from_file action_plans.csv", "action_plan",
            T("Action plan (Form 1) being followed up", "যে কর্মপরিকল্পনার (ফরম ১) ফলো-আপ করা হচ্ছে",
              "फलोअप गरिएको कार्ययोजना (फाराम नं. १)"),
            choice_filter=PLAN_FILTER, appearance="autocomplete",
            hint=T("Choosing the plan fills in its local government, participant, date and good practices; "
                   "check and correct them. Leave empty only if the plan is not in the list.",
                   "পরিকল্পনা বেছে নিলে তার স্থানীয় সরকার, অংশগ্রহণকারী, তারিখ ও ভালো শিখনগুলো পূরণ হয়ে যাবে; "
                   "যাচাই করে প্রয়োজনে সংশোধন করুন। তালিকায় না থাকলে তবেই খালি রাখুন।",
                   "कार्ययोजना छान्दा त्यसको स्थानीय तह, सहभागी, मिति र असल अभ्यासहरू आफैँ भरिन्छन्; "
                   "जाँचेर आवश्यक भए सच्याउनुहोस्। सूचीमा नभए मात्र खाली छोड्नुहोस्।")),
        *local_government,
        by_name["lg_name"],
        row("text", "participant_name", T("Name of the workshop participant", "কর্মশালায় অংশগ্রহণকারীর নাম",
                                          "आपसी सिकाइ कार्यशालामा सहभागी भएका व्यक्तिको नाम, थर"),
            required="yes", **from_plan("participant_name")),
        row("text", "position", T("Position / designation", "পদবি", "पद"), required="yes",
            **from_plan("position")),
        row("select_one period_type", "period_type", T("Reporting period", "প্রতিবেদনের সময়কাল", "प्रतिवेदन अवधि"),
            required="yes"),
        *with_bikram_sambat(row("date", "period_start", T("Period start", "সময়কালের শুরু", "अवधि सुरु मिति"),
                                required="yes")),
        *with_bikram_sambat(row(
            "date", "period_end", T("Period end", "সময়কালের শেষ", "अवधि अन्त्य मिति"), required="yes",
            constraint=". >= ${period_start}",
            constraint_message=T("The period cannot end before it starts.", "সময়কাল শুরুর আগে শেষ হতে পারে না।",
                                 "अवधि सुरु हुनुअघि अन्त्य हुन सक्दैन।"))),
        row("integer", "result_count", T("How many good practices of the plan are you reporting on (1–5)?",
                                         "পরিকল্পনার কয়টি ভালো শিখনের ফলাফল জানাচ্ছেন (১–৫)?",
                                         "कार्ययोजनाका कतिवटा असल अभ्यासको नतिजा जानकारी गराउँदै हुनुहुन्छ (१–५)?"),
            required="yes", constraint=ONE_TO_FIVE, constraint_message=ONE_TO_FIVE_MESSAGE,
            **from_plan("result_count", "practice_count")),
        row("begin repeat", "results", T("Good practice of the plan", "পরিকল্পনার ভালো শিখন", "कार्ययोजनाको असल अभ्यास"),
            repeat_count="${result_count}"),
        row("calculate", "plan_practice", calculation=PLAN_PRACTICE),
        row("select_one yes_no", "tried", T("Was this good practice tried? ${plan_practice}",
                                             "এই ভালো শিখনটি প্রয়োগের চেষ্টা করা হয়েছে কি? ${plan_practice}",
                                             "यो असल अभ्यास लागू गर्ने प्रयास गरियो? ${plan_practice}"),
            required="yes"),
        # Filled from the plan when "tried" is answered (a new row's own default is not run by
        # Collect for the first row of a counted repeat); an edited name is kept.
        row("text", "practice", T("Good practice", "ভালো শিখন", "असल अभ्यास"), required="yes",
            calculation="if(${practice} != '', ${practice}, ${plan_practice})", trigger="${tried}"),
        row("text", "result", T("Results obtained", "প্রাপ্ত ফলাফল", "प्राप्त भएका नतिजाहरू"), required="yes",
            relevant="${tried} = 'yes'"),
        row("text", "verification", T("Means of verification", "যাচাইয়ের উপায়", "पुष्ट्याईका आधारहरू"), required="yes",
            relevant="${tried} = 'yes'"),
        row("end repeat"),
        row("text", "officer_name", T("Name of the follow-up officer", "ফলো-আপকারী কর্মকর্তার নাম",
                                      "फलोअप गर्ने व्यक्तिको नाम"), required="yes"),
        row("date", "plan_date", T("Date the action plan was prepared", "কর্মপরিকল্পনা তৈরির তারিখ",
                                   "कार्ययोजना तयार गरिएको मिति"),
            required="yes", constraint=NOT_FUTURE, constraint_message=NOT_FUTURE_MESSAGE,
            **from_plan("plan_date")),
        *with_bikram_sambat(row(
            "date", "followup_date", T("Follow-up date", "ফলো-আপের তারিখ", "फलोअप गरेको मिति"),
            required="yes", default="today()", constraint=". >= ${plan_date} and . <= today()",
            constraint_message=T(
                "The follow-up date cannot be before the action plan date or in the future.",
                "ফলো-আপের তারিখ কর্মপরিকল্পনার তারিখের আগে বা ভবিষ্যতে হতে পারে না।",
                "फलोअप मिति कार्ययोजना मितिभन्दा अघि वा भविष्यको हुन सक्दैन।"))),
    ]
    choices["period_type"] = [{"name": name, "label": label} for name, label in PERIOD_TYPES]
    choices["yes_no"] = YES_NO
    return survey, choices, settings(
        FORM_ID, "Peer-learning follow-up of results (Form 2)",
        "concat(${participant_name}, ' – ', ${lg_name}, ' – ', ${followup_date})", DEFAULT_LANGUAGE)
