"""Form 1 — peer-learning action plan (Nepal handbook "फाराम नं. १"), for both countries."""

from __future__ import annotations

from . import locations
from .common import (
    DEFAULT_LANGUAGE,
    NOT_FUTURE,
    NOT_FUTURE_MESSAGE,
    ONE_TO_FIVE,
    ONE_TO_FIVE_MESSAGE,
    T,
    row,
    settings,
    with_bikram_sambat,
)

FORM_ID = "hl_action_plan"

TOPICS = [
    ("law_making", T("Local law making and implementation", "স্থানীয় আইন প্রণয়ন ও বাস্তবায়ন",
                     "स्थानीय कानून तर्जुमा र कार्यान्वयन")),
    ("ict", T("Information and communication technology", "তথ্য ও যোগাযোগ প্রযুক্তির ব্যবহার",
              "सूचना र प्रविधिको प्रयोग")),
    ("solid_waste", T("Solid waste management", "কঠিন বর্জ্য ব্যবস্থাপনা", "फोहोरमैला व्यवस्थापन")),
    ("disaster_climate", T("Local disaster and climate-resilient planning",
                           "স্থানীয় দুর্যোগ ও জলবায়ু সহনশীল পরিকল্পনা",
                           "स्थानीय विपद तथा जलवायु उत्थानशील योजना तर्जुमा")),
    ("town_plan", T("Comprehensive town development plan", "সমন্বিত নগর উন্নয়ন পরিকল্পনা",
                    "एकीकृत नगर विकास योजना")),
    ("revenue", T("Revenue improvement plan", "রাজস্ব বৃদ্ধির পরিকল্পনা", "राजस्व सुधार योजना")),
    ("local_economy", T("Local economic development", "স্থানীয় অর্থনৈতিক উন্নয়ন", "स्थानीय आर्थिक विकास")),
    ("infrastructure", T("Local infrastructure development", "স্থানীয় অবকাঠামো উন্নয়ন",
                         "स्थानीय पूर्वाधार विकास")),
    ("planning_budget", T("Local planning, budgeting and project implementation",
                          "স্থানীয় পরিকল্পনা, বাজেট প্রণয়ন ও প্রকল্প বাস্তবায়ন",
                          "स्थानीय योजना तर्जुमा, बजेट विनियोजन र कार्यक्रम कार्यान्वयन")),
    ("other", T("Other", "অন্যান্য", "अन्य")),
]


def build():
    location_rows, choices = locations.both_countries()
    survey = [
        row("note", "intro", T(
            "Form 1: after the peer-learning workshop, plan up to five good practices to apply in your local government.",
            "ফরম ১: পারস্পরিক শিখন কর্মশালার পর আপনার স্থানীয় সরকারে প্রয়োগের জন্য সর্বোচ্চ পাঁচটি ভালো শিখনের পরিকল্পনা করুন।",
            "फाराम नं. १: आपसी सिकाइ कार्यशालापश्चात् आफ्नो स्थानीय तहमा लागू गर्न सकिने बढीमा पाँचवटा असल अभ्यासको कार्ययोजना बनाउनुहोस्।")),
        *location_rows,
        row("text", "participant_name", T("Participant's full name", "অংশগ্রহণকারীর পূর্ণ নাম", "सहभागीको नाम, थर"),
            required="yes"),
        row("text", "position", T("Position / designation", "পদবি", "पद"), required="yes",
            hint=T("For example: chairman, mayor, ward member, chief administrative officer.",
                   "যেমন: চেয়ারম্যান, মেয়র, ওয়ার্ড সদস্য, সচিব।",
                   "जस्तै: अध्यक्ष, मेयर, वडा सदस्य, प्रमुख प्रशासकीय अधिकृत।")),
        row("integer", "plan_count", T("How many good practices will you plan (1–5)?",
                                       "কয়টি ভালো শিখনের পরিকল্পনা করবেন (১–৫)?",
                                       "कतिवटा असल अभ्यासको योजना बनाउनुहुन्छ (१–५)?"),
            required="yes", constraint=ONE_TO_FIVE, constraint_message=ONE_TO_FIVE_MESSAGE),
        row("begin repeat", "plans", T("Good practice to apply", "প্রয়োগযোগ্য ভালো শিখন", "लागू गर्ने असल अभ्यास"),
            repeat_count="${plan_count}"),
        row("select_one topic", "topic", T("Learning topic", "শিখনের বিষয়", "सिकाइका विषयवस्तु"), required="yes"),
        row("text", "topic_other", T("Other topic: please describe", "অন্য বিষয়: বর্ণনা করুন", "अन्य विषय: खुलाउनुहोस्"),
            required="yes", relevant="${topic} = 'other'"),
        row("text", "practice", T(
            "Which learned good practice can be applied in your local government?",
            "শেখা ভালো শিখনগুলোর মধ্যে কোনটি আপনার স্থানীয় সরকারে প্রয়োগ করা যাবে?",
            "सिकेका असल अभ्यासहरूमध्ये आफ्नो स्थानीय तहमा कुन लागू गर्न सकिएला?"), required="yes"),
        row("text", "implementation", T(
            "How will it be implemented (the bases)?", "কীভাবে বাস্তবায়ন করা হবে (ভিত্তিসমূহ)?",
            "आफ्नो स्थानीय तहमा कसरी कार्यान्वयन गर्न सकिएला (आधारहरू)?"), required="yes"),
        row("text", "expected_results", T(
            "What results do you expect once it is applied?", "প্রয়োগের পর কী ফলাফল আশা করছেন?",
            "लागू गरेपश्चात के कस्ता नतिजाहरू प्राप्त गर्न सकिएला?"), required="yes"),
        row("text", "verification", T("Means of verification", "যাচাইয়ের উপায়", "पुष्ट्याईका आधारहरू"),
            required="yes", hint=T("How will anyone check that it was done?",
                                   "কাজটি হয়েছে কিনা কীভাবে যাচাই করা যাবে?",
                                   "काम भएको कसरी पुष्टि गर्न सकिन्छ?")),
        row("end repeat"),
        *with_bikram_sambat(row(
            "date", "date_prepared", T("Date the action plan was prepared", "কর্মপরিকল্পনা তৈরির তারিখ",
                                       "कार्ययोजना तयार गरिएको मिति"),
            required="yes", default="today()", constraint=NOT_FUTURE, constraint_message=NOT_FUTURE_MESSAGE)),
        row("text", "place", T("Place where the action plan was prepared", "কর্মপরিকল্পনা তৈরির স্থান",
                               "कार्ययोजना तयार गरिएको स्थान"), required="yes"),
        row("image", "signature", T("Signature of the person who prepared the plan",
                                    "কর্মপরিকল্পনা প্রস্তুতকারীর স্বাক্ষর", "कार्ययोजना तयार पार्नेको हस्ताक्षर"),
            appearance="signature", parameters="max-pixels=1024"),
    ]
    choices["topic"] = [{"name": name, "label": label} for name, label in TOPICS]
    return survey, choices, settings(
        FORM_ID, "Peer-learning action plan (Form 1)",
        "concat(${participant_name}, ' – ', ${lg_name}, ' – ', ${date_prepared})", DEFAULT_LANGUAGE)
