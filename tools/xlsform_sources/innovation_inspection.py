"""Inspection of a public-service innovation project by a divisional or district innovation team."""

from __future__ import annotations

from . import locations
from .common import (
    DEFAULT_LANGUAGE,
    NOT_FUTURE,
    NOT_FUTURE_MESSAGE,
    NOT_NEGATIVE,
    NOT_NEGATIVE_MESSAGE,
    YES_NO,
    T,
    row,
    settings,
)

FORM_ID = "innovation_inspection"

INSPECTOR_ROLES = [
    ("divisional_commissioner", T("Divisional commissioner", "বিভাগীয় কমিশনার", "डिभिजनल कमिसनर")),
    ("additional_divisional_commissioner", T("Additional divisional commissioner", "অতিরিক্ত বিভাগীয় কমিশনার",
                                             "अतिरिक्त डिभिजनल कमिसनर")),
    ("dc", T("Deputy commissioner (DC)", "জেলা প্রশাসক", "जिल्ला प्रशासक (DC)")),
    ("adc", T("Additional deputy commissioner (ADC)", "অতিরিক্ত জেলা প্রশাসক", "अतिरिक्त जिल्ला प्रशासक (ADC)")),
    ("district_office_head", T("Head of a district office", "জেলা পর্যায়ের অফিস প্রধান", "जिल्लास्तरीय कार्यालय प्रमुख")),
    ("uno", T("Upazila nirbahi officer (UNO)", "উপজেলা নির্বাহী অফিসার (ইউএনও)", "उपजिला कार्यकारी अधिकृत (UNO)")),
    ("mentor", T("Innovation mentor", "ইনোভেশন মেন্টর", "नवप्रवर्तन मेन्टर")),
    ("innovation_officer", T("Innovation officer / focal point", "ইনোভেশন অফিসার / ফোকাল পয়েন্ট",
                             "नवप्रवर्तन अधिकृत / सम्पर्क व्यक्ति")),
    ("other", T("Other", "অন্যান্য", "अन्य")),
]
STAGES = [
    ("idea", T("Idea", "ধারণা", "विचार")),
    ("pilot_running", T("Pilot running", "পাইলট চলমান", "पाइलट सञ्चालनमा")),
    ("pilot_complete", T("Pilot complete", "পাইলট সম্পন্ন", "पाइलट सम्पन्न")),
    ("recommended", T("Recommended for replication", "রেপ্লিকেশনের জন্য সুপারিশকৃত", "विस्तारका लागि सिफारिस गरिएको")),
    ("replicated", T("Replicated", "রেপ্লিকেট করা হয়েছে", "विस्तार गरिएको")),
]
# The registry's categories (pipeline/domain/projects.py CATEGORIES), for a project not yet in it.
CATEGORIES = [
    ("e_service", T("e-Service", "ই-সেবা", "विद्युतीय सेवा")),
    ("digital_centre", T("Digital centre", "ডিজিটাল সেন্টার", "डिजिटल केन्द्र")),
    ("e_governance", T("e-Governance", "ই-গভর্ন্যান্স", "विद्युतीय सुशासन")),
    ("citizen_engagement", T("Citizen engagement", "নাগরিক সম্পৃক্ততা", "नागरिक सहभागिता")),
    ("education", T("Education", "শিক্ষা", "शिक्षा")),
    ("health", T("Health", "স্বাস্থ্য", "स्वास्थ्य")),
    ("agriculture", T("Agriculture", "কৃষি", "कृषि")),
    ("land", T("Land", "ভূমি", "भूमि")),
    ("social_safety_net", T("Social safety net", "সামাজিক নিরাপত্তা বেষ্টনী", "सामाजिक सुरक्षा")),
    ("other", T("Other", "অন্যান্য", "अन्य")),
]
# Registry projects of this district (district-wide) or upazila, as the project list filters them.
LISTED = ("count(instance('innovation_projects')/root/item"
          "[district = ${district} and (upazila = ${upazila} or upazila = '')]) > 0")
NOT_LISTED = "${project_listed} = 'no'"

RECOMMENDATIONS = [
    ("continue", T("Continue as planned", "পরিকল্পনা অনুযায়ী চালিয়ে যাওয়া", "योजनाअनुसार जारी राख्ने")),
    ("scale_district", T("Scale up / replicate in the district", "জেলায় সম্প্রসারণ / রেপ্লিকেশন", "जिल्लामा विस्तार")),
    ("scale_division", T("Replicate in the division", "বিভাগে রেপ্লিকেশন", "डिभिजनमा विस्तार")),
    ("scale_national", T("Replicate nationally", "জাতীয় পর্যায়ে রেপ্লিকেশন", "राष्ट्रिय स्तरमा विस्तार")),
    ("revise", T("Revise the project", "প্রকল্প সংশোধন", "परियोजना परिमार्जन")),
    ("stop", T("Stop the project", "প্রকল্প বন্ধ", "परियोजना बन्द")),
]


def _tcv(name: str, type_: str, label: T) -> dict:
    return row(type_, name, label, required="yes", constraint=NOT_NEGATIVE,
               constraint_message=NOT_NEGATIVE_MESSAGE)


def build():
    location_rows, choices = locations.bangladesh(with_union=False, programme_only=False)
    survey = [
        *location_rows,
        row("select_one yes_no", "project_listed",
            T("Is the project in the registry list?", "প্রকল্পটি কি নিবন্ধিত তালিকায় আছে?",
              "के परियोजना दर्ता सूचीमा छ?"),
            required="yes", default="yes", constraint=f". = 'no' or {LISTED}",
            constraint_message=T(
                "No project of this district or upazila is in the list yet: answer No and describe the project.",
                "এই জেলা বা উপজেলার কোনো প্রকল্প এখনো তালিকায় নেই: 'না' বেছে প্রকল্পের বিবরণ দিন।",
                "यस जिल्ला वा उपजिलाको कुनै परियोजना अझै सूचीमा छैन: 'होइन' छानेर परियोजनाको विवरण दिनुहोस्।"),
            hint=T("Answer No for a project met in the field that the list does not offer.",
                   "মাঠে পাওয়া যে প্রকল্প তালিকায় নেই তার জন্য 'না' বেছে নিন।",
                   "सूचीमा नभएको, फिल्डमा भेटिएको परियोजनाका लागि 'होइन' छान्नुहोस्।")),
        row("select_one_from_file innovation_projects.csv", "project",
            T("Innovation project", "ইনোভেশন প্রকল্প", "नवप्रवर्तन परियोजना"), required="yes",
            relevant="${project_listed} = 'yes'",
            choice_filter="district = ${district} and (upazila = ${upazila} or upazila = '')",
            appearance="autocomplete",
            hint=T("Projects registered in this district and upazila.", "এই জেলা ও উপজেলায় নিবন্ধিত প্রকল্পসমূহ।",
                   "यस जिल्ला र उपजिलामा दर्ता भएका परियोजनाहरू।")),
        row("text", "new_project_name", T("Name of the project", "প্রকল্পের নাম", "परियोजनाको नाम"),
            required="yes", relevant=NOT_LISTED),
        row("text", "new_project_code", T("Project code, if known", "প্রকল্পের কোড (জানা থাকলে)",
                                          "परियोजनाको कोड (थाहा भए)"),
            relevant=NOT_LISTED, constraint="regex(., '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')",
            constraint_message=T("Letters, digits, '-', '_' or '.', no spaces.",
                                 "অক্ষর, সংখ্যা, '-', '_' বা '.'; ফাঁকা ঘর ছাড়া।",
                                 "अक्षर, अङ्क, '-', '_' वा '.'; खाली ठाउँ बिना।")),
        row("text", "new_project_office", T("Ministry / office running the project",
                                            "প্রকল্প পরিচালনাকারী মন্ত্রণালয় / দপ্তর",
                                            "परियोजना सञ्चालन गर्ने मन्त्रालय / कार्यालय"),
            required="yes", relevant=NOT_LISTED),
        row("select_one category", "new_project_category", T("Category", "ক্যাটাগরি", "वर्ग"),
            required="yes", relevant=NOT_LISTED),
        row("calculate", "project_name", calculation=(
            "if(${project_listed} = 'no', ${new_project_name}, "
            "instance('innovation_projects')/root/item[name = ${project}]/label)")),
        row("text", "inspector_name", T("Inspecting officer's name", "পরিদর্শনকারী কর্মকর্তার নাম",
                                        "निरीक्षण गर्ने अधिकृतको नाम"), required="yes"),
        row("select_one inspector_role", "inspector_role", T("Inspecting officer's role", "পরিদর্শনকারী কর্মকর্তার পদ",
                                                             "निरीक्षण गर्ने अधिकृतको पद"), required="yes"),
        row("date", "visit_date", T("Date of the visit", "পরিদর্শনের তারিখ", "निरीक्षण मिति"), required="yes",
            default="today()", constraint=NOT_FUTURE, constraint_message=NOT_FUTURE_MESSAGE),
        row("select_one stage", "stage", T("Stage of the project", "প্রকল্পের পর্যায়", "परियोजनाको चरण"), required="yes"),
        row("integer", "progress", T("Progress (%)", "অগ্রগতি (%)", "प्रगति (%)"), required="yes",
            constraint="(. >= 0) and (. <= 100)",
            constraint_message=T("Enter a percentage from 0 to 100.", "০ থেকে ১০০ এর মধ্যে শতাংশ লিখুন।",
                                 "० देखि १०० सम्मको प्रतिशत लेख्नुहोस्।")),
        row("select_one yes_no", "on_plan", T("Is the project running to plan?", "প্রকল্পটি কি পরিকল্পনা অনুযায়ী চলছে?",
                                              "के परियोजना योजनाअनुसार चलिरहेको छ?"), required="yes"),
        row("note", "tcv_note", T(
            "Service to the citizen before and after the innovation: time, cost and number of visits (TCV).",
            "উদ্ভাবনের আগে ও পরে নাগরিকের সেবা: সময়, খরচ ও যাতায়াতের সংখ্যা (TCV)।",
            "नवप्रवर्तनअघि र पछि नागरिकलाई सेवा: समय, खर्च र धाउनुपर्ने पटक (TCV)।")),
        _tcv("time_before", "decimal", T("Time before (days)", "আগে সময় (দিন)", "पहिले लाग्ने समय (दिन)")),
        _tcv("time_after", "decimal", T("Time after (days)", "পরে সময় (দিন)", "अहिले लाग्ने समय (दिन)")),
        _tcv("cost_before", "decimal", T("Cost before (taka)", "আগে খরচ (টাকা)", "पहिले लाग्ने खर्च (टाका)")),
        _tcv("cost_after", "decimal", T("Cost after (taka)", "পরে খরচ (টাকা)", "अहिले लाग्ने खर्च (टाका)")),
        _tcv("visits_before", "integer", T("Visits before", "আগে যাতায়াতের সংখ্যা", "पहिले धाउनुपर्ने पटक")),
        _tcv("visits_after", "integer", T("Visits after", "পরে যাতায়াতের সংখ্যা", "अहिले धाउनुपर्ने पटक")),
        row("text", "citizen_feedback", T("Citizen feedback", "নাগরিকদের মতামত", "नागरिकको प्रतिक्रिया"),
            appearance="multiline"),
        row("text", "obstacles", T("Obstacles found", "চিহ্নিত বাধাসমূহ", "देखिएका अवरोधहरू"), appearance="multiline"),
        row("text", "guidance", T("Guidance given", "প্রদত্ত নির্দেশনা", "दिइएको निर्देशन"), appearance="multiline"),
        row("select_one recommendation", "recommendation", T("Recommendation", "সুপারিশ", "सिफारिस"), required="yes"),
        row("begin repeat", "photos", T("Photos", "ছবি", "तस्बिरहरू")),
        row("image", "photo", T("Photo", "ছবি", "तस्बिर"), parameters="max-pixels=1600"),
        row("text", "caption", T("Caption", "ছবির বিবরণ", "तस्बिरको विवरण")),
        row("end repeat"),
        row("geopoint", "location", T("GPS location of the project site", "প্রকল্প স্থানের জিপিএস অবস্থান",
                                      "परियोजना स्थलको GPS स्थान"),
            hint=T("Wait until the accuracy is under 10 m.", "নির্ভুলতা ১০ মিটারের কম হওয়া পর্যন্ত অপেক্ষা করুন।",
                   "शुद्धता १० मिटरभन्दा कम नहुन्जेल पर्खनुहोस्।")),
        row("image", "signature", T("Inspecting officer's signature", "পরিদর্শনকারী কর্মকর্তার স্বাক্ষর",
                                    "निरीक्षण गर्ने अधिकृतको हस्ताक्षर"),
            appearance="signature", parameters="max-pixels=1024"),
    ]
    choices["inspector_role"] = [{"name": n, "label": t} for n, t in INSPECTOR_ROLES]
    choices["stage"] = [{"name": n, "label": t} for n, t in STAGES]
    choices["yes_no"] = YES_NO
    choices["recommendation"] = [{"name": n, "label": t} for n, t in RECOMMENDATIONS]
    choices["category"] = [{"name": n, "label": t} for n, t in CATEGORIES]
    return survey, choices, settings(
        FORM_ID, "Innovation project inspection",
        "concat(${project_name}, ' – ', ${visit_date})", DEFAULT_LANGUAGE)
