"""SAMPLE generated media: a few rows with the real columns, so the forms load and can be tested
before the server has any data. The server replaces them with ones built from the warehouse."""

from __future__ import annotations

from pathlib import Path

from .common import T, media_row, write_media_csv

KALIGANJ = {"upazila": "303334", "district": "3033", "division": "30"}  # Gazipur district
GAZIPUR_SADAR = {"upazila": "303330", "district": "3033", "division": "30"}

BALLOT_CANDIDATES = [
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c01", T("One-stop birth registration desk", "ওয়ান-স্টপ জন্ম নিবন্ধন ডেস্ক", "एकद्वार जन्म दर्ता डेस्क"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c02", T("Ward shava held every quarter", "প্রতি ত্রৈমাসিকে ওয়ার্ড সভা", "हरेक त्रैमासिक वडा भेला"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c03", T("Holding tax collection camp", "হোল্ডিং ট্যাক্স আদায় ক্যাম্প", "घरजग्गा कर सङ्कलन शिविर"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c04", T("Open budget meeting", "উন্মুক্ত বাজেট সভা", "खुला बजेट बैठक"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c05", T("Citizen charter on the notice board", "নোটিশ বোর্ডে সিটিজেন চার্টার", "सूचना पाटीमा नागरिक बडापत्र"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c06", T("Village court in every union", "প্রতিটি ইউনিয়নে গ্রাম আদালত", "हरेक युनियनमा गाउँ अदालत"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c07", T("Safe drinking water committee", "নিরাপদ পানীয় জল কমিটি", "सुरक्षित खानेपानी समिति"), KALIGANJ),
    ("0b6f4f0e-1d2a-4c53-9a61-0a1f5e2b7c08", T("Digital centre services", "ডিজিটাল সেন্টারের সেবা", "डिजिटल केन्द्रका सेवा"), GAZIPUR_SADAR),
]

WORKSHOP_DAYS = {"303334": "20261102"}  # the nominations' workshop date, YYYYMMDD

INNOVATION_PROJECTS = [
    ("DNJ-2026-001", T("e-Mutation service desk", "ই-নামজারি সেবা ডেস্ক", "विद्युतीय नामसारी सेवा डेस्क"),
     {"division": "55", "district": "5527", "upazila": "552710"}),
    ("DNJ-2026-002", T("Online hearing of land disputes", "অনলাইনে ভূমি বিরোধের শুনানি", "जग्गा विवादको अनलाइन सुनुवाइ"),
     {"division": "55", "district": "5527", "upazila": "552712"}),
    ("DNJ-2026-003", T("District helpline for social safety nets", "সামাজিক নিরাপত্তা বেষ্টনীর জেলা হেল্পলাইন",
                       "सामाजिक सुरक्षाका लागि जिल्ला हेल्पलाइन"),
     {"division": "55", "district": "5527", "upazila": ""}),
    ("RNG-2026-001", T("SMS alerts for pension payments", "পেনশন প্রদানের এসএমএস বার্তা", "निवृत्तिभरण भुक्तानीको SMS सूचना"),
     {"division": "55", "district": "5585", "upazila": ""}),
]

ACTION_PLANS = [
    ("5d1c6a52-8b0e-4c7e-9f0a-3b2d1e4f5a61", T("Rahima Begum – Bahadursadi – 2026-10-12", "রহিমা বেগম – বাহাদুরশাদী – ২০২৬-১০-১২",
                                                "रहिमा बेगम – बाहादुरशादी – 2026-10-12"),
     {"district": "3033", "upazila": "303334", "union": "30333415", "local_level": "",
      "participant_name": "রহিমা বেগম", "position": "ইউপি সদস্য (সংরক্ষিত)", "plan_date": "2026-10-12",
      "practices": ("ওয়ান-স্টপ জন্ম নিবন্ধন ডেস্ক", "প্রতি ত্রৈমাসিকে ওয়ার্ড সভা")}),
    ("5d1c6a52-8b0e-4c7e-9f0a-3b2d1e4f5a62", T("Sita Sharma – Shankharapur – 2026-10-20", "সীতা শর্মা – শঙ্খরাপুর – ২০২৬-১০-২০",
                                                "सीता शर्मा – शंखरापुर – २०२६-१०-२०"),
     {"district": "306", "upazila": "", "union": "", "local_level": "30601",
      "participant_name": "सीता शर्मा", "position": "उपप्रमुख", "plan_date": "2026-10-20",
      "practices": ("घरघरबाट फोहोर सङ्कलन र छुट्याउने अभ्यास", "सम्पत्ति करको डिजिटल अभिलेख")}),
]
MAX_PRACTICES = 5


def plan_columns(where: dict) -> dict[str, str]:
    """An action_plans.csv row's columns after the labels: the filters, then what Form 2 fills in
    from the plan (``practice_1`` … ``practice_5``, empty past ``practice_count``)."""
    practices = list(where["practices"])[:MAX_PRACTICES]
    return {**{k: v for k, v in where.items() if k != "practices"},
            "practice_count": str(len(practices)),
            **{f"practice_{n}": (practices[n - 1] if n <= len(practices) else "")
               for n in range(1, MAX_PRACTICES + 1)}}


def write_samples(media_dir: Path) -> None:
    write_media_csv(media_dir / "ballot_candidates.csv",
                    [media_row(key, label, upazila=where["upazila"],
                               workshop_day=WORKSHOP_DAYS.get(where["upazila"], ""))
                     for key, label, where in BALLOT_CANDIDATES])
    write_media_csv(media_dir / "innovation_projects.csv",
                    [media_row(code, label, **where) for code, label, where in INNOVATION_PROJECTS])
    write_media_csv(media_dir / "action_plans.csv",
                    [media_row(key, label, **plan_columns(where)) for key, label, where in ACTION_PLANS])
