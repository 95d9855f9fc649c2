"""Ballot at a Bangladesh HLP workshop: an elected representative picks at most five of that
workshop's nominated practices (from ballot_candidates.csv) and ranks them."""

from __future__ import annotations

from . import locations
from .common import DEFAULT_LANGUAGE, T, row, settings

FORM_ID = "hl_ballot"

VOTING_ROLES = [
    ("up_chairman", T("UP chairman", "ইউপি চেয়ারম্যান", "युनियन परिषद् अध्यक्ष")),
    ("up_member", T("UP member", "ইউপি সদস্য", "युनियन परिषद् सदस्य")),
    ("up_member_reserved", T("UP member (reserved seat)", "ইউপি সদস্য (সংরক্ষিত আসন)",
                             "युनियन परिषद् सदस्य (आरक्षित सिट)")),
    ("mayor", T("Pourashava mayor", "পৌরসভা মেয়র", "पौरसभा मेयर")),
    ("councillor", T("Councillor", "কাউন্সিলর", "काउन्सिलर")),
    ("councillor_reserved", T("Councillor (reserved seat)", "কাউন্সিলর (সংরক্ষিত আসন)", "काउन्सिलर (आरक्षित सिट)")),
    ("upazila_chairman", T("Upazila parishad chairman", "উপজেলা পরিষদ চেয়ারম্যান", "उपजिला परिषद् अध्यक्ष")),
    ("upazila_vice_chairman", T("Upazila parishad vice chairman", "উপজেলা পরিষদ ভাইস চেয়ারম্যান",
                                "उपजिला परिषद् उपाध्यक्ष")),
    ("upazila_vice_chairman_female", T("Upazila parishad vice chairman (woman)",
                                       "উপজেলা পরিষদ মহিলা ভাইস চেয়ারম্যান", "उपजिला परिषद् महिला उपाध्यक्ष")),
]
NON_VOTING_ROLES = [
    ("up_secretary", T("UP secretary", "ইউপি সচিব", "युनियन परिषद् सचिव")),
    ("uno", T("Upazila nirbahi officer (UNO)", "উপজেলা নির্বাহী অফিসার (ইউএনও)", "उपजिला कार्यकारी अधिकृत (UNO)")),
    ("official", T("Government official", "সরকারি কর্মকর্তা", "सरकारी कर्मचारी")),
    ("partner_staff", T("Partner organisation staff", "সহযোগী সংস্থার কর্মী", "साझेदार संस्थाका कर्मचारी")),
    ("other", T("Other", "অন্যান্য", "अन्य")),
]
# ballot_candidates.csv gives each nomination's workshop date as a number (YYYYMMDD, empty when
# unknown): a ballot is not dated before the workshop's first nomination, nor in the future.
NOMINATED = ("instance('ballot_candidates')/root/item[upazila = ${upazila} and workshop_day != '']"
             "/workshop_day")
BALLOT_DATE_RULE = (f". <= today() and (count({NOMINATED}) = 0 "
                    f"or number(format-date(., '%Y%m%d')) >= min({NOMINATED}))")
VOTERS = " ".join(name for name, _ in VOTING_ROLES)
MAY_VOTE = "${may_vote} = 'yes'"

ONLY_ELECTED = T(
    "Only elected representatives vote. UP secretaries, UNOs, officials and partner staff take part in the workshop but do not fill a ballot.",
    "শুধুমাত্র নির্বাচিত জনপ্রতিনিধিরা ভোট দেবেন। ইউপি সচিব, ইউএনও, কর্মকর্তা ও সহযোগী সংস্থার কর্মীরা কর্মশালায় অংশ নেন, কিন্তু ব্যালট পূরণ করেন না।",
    "निर्वाचित जनप्रतिनिधिले मात्र मत दिन्छन्। युनियन परिषद् सचिव, UNO, कर्मचारी र साझेदार संस्थाका कर्मचारी कार्यशालामा सहभागी हुन्छन् तर मतपत्र भर्दैनन्।")


def build():
    location_rows, choices = locations.bangladesh(with_union=False)
    survey = [
        row("note", "intro", T(
            "Ballot: choose up to five of this workshop's good practices, then put them in order of priority.",
            "ব্যালট: এই কর্মশালার সর্বোচ্চ পাঁচটি ভালো শিখন বেছে নিন, তারপর অগ্রাধিকার অনুযায়ী সাজান।",
            "मतपत्र: यस कार्यशालाका बढीमा पाँचवटा असल अभ्यास छान्नुहोस्, अनि प्राथमिकताअनुसार क्रम मिलाउनुहोस्।")),
        *location_rows,
        row("date", "ballot_date", T("Date of the ballot", "ব্যালটের তারিখ", "मतदानको मिति"), required="yes",
            default="today()", constraint=BALLOT_DATE_RULE, constraint_message=T(
                "The ballot date cannot be in the future or before the workshop's nominations.",
                "ব্যালটের তারিখ ভবিষ্যতের বা কর্মশালার মনোনয়নের আগের হতে পারে না।",
                "मतदानको मिति भविष्यको वा कार्यशालाको मनोनयनभन्दा अघिको हुन सक्दैन।")),
        row("text", "voter_name", T("Voter's name", "ভোটারের নাম", "मतदाताको नाम"), required="yes"),
        row("select_one voter_role", "voter_role", T("Voter's role", "ভোটারের পদ", "मतदाताको पद"),
            required="yes", constraint=f"selected('{VOTERS}', .)", constraint_message=ONLY_ELECTED),
        row("calculate", "may_vote", calculation=f"if(selected('{VOTERS}', ${{voter_role}}), 'yes', 'no')"),
        row("note", "not_a_voter", ONLY_ELECTED, relevant="${voter_role} != '' and ${may_vote} = 'no'"),
        row("select_multiple_from_file ballot_candidates.csv", "picks",
            T("Choose at most five good practices of this workshop", "এই কর্মশালার সর্বোচ্চ পাঁচটি ভালো শিখন বেছে নিন",
              "यस कार्यशालाका बढीमा पाँचवटा असल अभ्यास छान्नुहोस्"),
            required="yes", relevant=MAY_VOTE, choice_filter="upazila = ${upazila}",
            constraint="count-selected(.) <= 5",
            constraint_message=T("Choose no more than five practices.", "পাঁচটির বেশি বেছে নেবেন না।",
                                 "पाँचवटाभन्दा बढी नछान्नुहोस्।")),
        row("rank ballot_candidates.csv", "priority",
            T("Put your picks in order of priority", "আপনার পছন্দগুলো অগ্রাধিকার অনুযায়ী সাজান",
              "आफ्ना छनोटलाई प्राथमिकताअनुसार क्रम मिलाउनुहोस्"),
            hint=T("First = most preferred.", "প্রথমটি = সবচেয়ে পছন্দের।", "पहिलो = सबैभन्दा रुचाइएको।"),
            required="yes", relevant=f"{MAY_VOTE} and count-selected(${{picks}}) > 0",
            choice_filter="upazila = ${upazila} and selected(${picks}, name)"),
    ]
    choices["voter_role"] = [{"name": name, "label": label} for name, label in VOTING_ROLES + NON_VOTING_ROLES]
    return survey, choices, settings(
        FORM_ID, "HLP workshop: ballot for the best five good practices",
        "concat(${voter_name}, ' – ', jr:choice-name(${upazila}, '${upazila}'), ' – ', ${ballot_date})",
        DEFAULT_LANGUAGE)
