"""Every word the workbook and the workshop report write themselves, in English, Bengali and
Nepali: headers, labels of fields the forms calculate, value words (yes/no, categories, review
states), sheet and table titles. One table, so a translator reads and fixes them in one place.

Question labels and choice labels come from the forms; place names from ``pipeline.domain.places``;
this module holds only what no form or list says. ``word(key, lang)`` gives one word (English
where a language has none), ``group(prefix, lang)`` every word under ``prefix.`` as
code → word (for ``SheetColumn.codes``).
"""

from __future__ import annotations

from pipeline.domain.projects import CATEGORIES

LANGUAGES = ("en", "bn", "ne")

W = dict[str, str]

WORDS: dict[str, W] = {
    # ---- metadata columns of every data sheet ----
    "meta._submitted_at": {"en": "Submitted", "bn": "জমার সময়", "ne": "पेश गरिएको समय"},
    "meta._submitter": {"en": "Submitted by", "bn": "জমাদানকারী", "ne": "पेश गर्ने"},
    "meta._review_state": {"en": "Review state", "bn": "পর্যালোচনার অবস্থা", "ne": "समीक्षा अवस्था"},
    "meta._review_comments": {"en": "Review comments", "bn": "পর্যালোচনার মন্তব্য", "ne": "समीक्षा टिप्पणी"},
    "meta._time_zone": {"en": "Time zone", "bn": "সময় অঞ্চল", "ne": "समय क्षेत्र"},
    "meta._key": {"en": "Submission key", "bn": "জমার শনাক্তকারী", "ne": "पेशको पहिचान"},
    "meta._parent_key": {"en": "Submission key (parent row)", "bn": "মূল সারির শনাক্তকারী",
                         "ne": "मूल पङ्क्तिको पहिचान"},
    "meta.latitude": {"en": "latitude", "bn": "অক্ষাংশ", "ne": "अक्षांश"},
    "meta.longitude": {"en": "longitude", "bn": "দ্রাঘিমাংশ", "ne": "देशान्तर"},
    "meta.bs": {"en": "BS", "bn": "বি.স.", "ne": "वि.सं."},  # Bikram Sambat, Nepal's calendar
    "meta.zone_by_row": {"en": "local time of the row's country", "bn": "সারির দেশের স্থানীয় সময়",
                         "ne": "पङ्क्तिको देशको स्थानीय समय"},
    # ---- fields the forms calculate (no label of their own) ----
    "field.project_name": {"en": "Project name", "bn": "প্রকল্পের নাম", "ne": "परियोजनाको नाम"},
    "field.union_name": {"en": "Union / pourashava name", "bn": "ইউনিয়ন / পৌরসভার নাম",
                         "ne": "युनियन / नगरपालिकाको नाम"},
    "field.lg_name": {"en": "Local government name", "bn": "স্থানীয় সরকারের নাম",
                      "ne": "स्थानीय तहको नाम"},
    "field.ballot_date": {"en": "Ballot date", "bn": "ব্যালটের তারিখ", "ne": "मतदान मिति"},
    "field.may_vote": {"en": "May vote (elected representative)",
                       "bn": "ভোট দিতে পারেন (নির্বাচিত জনপ্রতিনিধি)",
                       "ne": "मत दिन पाउने (निर्वाचित जनप्रतिनिधि)"},
    "field.plan_practice": {"en": "Practice from the plan", "bn": "পরিকল্পনার ভালো শিখন",
                            "ne": "योजनाको असल अभ्यास"},
    "field.plan_date": {"en": "Action plan date", "bn": "কর্মপরিকল্পনার তারিখ", "ne": "कार्ययोजना मिति"},
    "field.participant_name": {"en": "Participant name", "bn": "অংশগ্রহণকারীর নাম", "ne": "सहभागीको नाम"},
    "field.position": {"en": "Position", "bn": "পদবি", "ne": "पद"},
    "field.today": {"en": "Date filled", "bn": "পূরণের তারিখ", "ne": "भरेको मिति"},
    "field.start": {"en": "Started", "bn": "শুরুর সময়", "ne": "सुरु समय"},
    "field.end": {"en": "Finished", "bn": "শেষের সময়", "ne": "अन्त्य समय"},
    "field.deviceid": {"en": "Device", "bn": "ডিভাইস", "ne": "उपकरण"},
    # ---- values that are words, not answers ----
    "yes_no.yes": {"en": "yes", "bn": "হ্যাঁ", "ne": "हो"},
    "yes_no.no": {"en": "no", "bn": "না", "ne": "होइन"},
    "state.received": {"en": "Received", "bn": "প্রাপ্ত", "ne": "प्राप्त"},
    "state.approved": {"en": "Approved", "bn": "অনুমোদিত", "ne": "स्वीकृत"},
    "state.has_issues": {"en": "Has issues", "bn": "সমস্যা আছে", "ne": "समस्या छ"},
    "state.rejected": {"en": "Rejected", "bn": "প্রত্যাখ্যাত", "ne": "अस्वीकृत"},
    "state.edited": {"en": "Edited", "bn": "সম্পাদিত", "ne": "सम्पादित"},
    "category.e_service": {"en": "e-Service", "bn": "ই-সেবা", "ne": "विद्युतीय सेवा"},
    "category.digital_centre": {"en": "Digital centre", "bn": "ডিজিটাল সেন্টার", "ne": "डिजिटल केन्द्र"},
    "category.e_governance": {"en": "e-Governance", "bn": "ই-গভর্ন্যান্স", "ne": "विद्युतीय सुशासन"},
    "category.citizen_engagement": {"en": "Citizen engagement", "bn": "নাগরিক সম্পৃক্ততা",
                                    "ne": "नागरिक सहभागिता"},
    "category.education": {"en": "Education", "bn": "শিক্ষা", "ne": "शिक्षा"},
    "category.health": {"en": "Health", "bn": "স্বাস্থ্য", "ne": "स्वास्थ्य"},
    "category.agriculture": {"en": "Agriculture", "bn": "কৃষি", "ne": "कृषि"},
    "category.land": {"en": "Land", "bn": "ভূমি", "ne": "भूमि"},
    "category.social_safety_net": {"en": "Social safety net", "bn": "সামাজিক নিরাপত্তা বেষ্টনী",
                                   "ne": "सामाजिक सुरक्षा"},
    "category.other": {"en": "Other", "bn": "অন্যান্য", "ne": "अन्य"},
    "period_type.quarterly": {"en": "Quarterly", "bn": "ত্রৈমাসিক", "ne": "त्रैमासिक"},
    "period_type.half_yearly": {"en": "Half-yearly", "bn": "ষাণ্মাসিক", "ne": "अर्धवार्षिक"},
    "period_type.annual": {"en": "Annual", "bn": "বার্ষিক", "ne": "वार्षिक"},
    "linked_by.key": {"en": "plan chosen on the form", "bn": "ফরমে বাছাই করা পরিকল্পনা",
                      "ne": "फाराममा छानिएको योजना"},
    "linked_by.name": {"en": "same name and local government", "bn": "একই নাম ও স্থানীয় সরকার",
                       "ne": "उही नाम र स्थानीय तह"},
    # ---- forms and repeats (sheet names stay English; titles inside the sheets do not) ----
    "form.innovation_inspection": {"en": "Inspections", "bn": "উদ্ভাবন পরিদর্শন", "ne": "नवप्रवर्तन निरीक्षण"},
    "form.hl_nomination": {"en": "Nominations", "bn": "ভালো শিখনের মনোনয়ন", "ne": "असल अभ्यासको मनोनयन"},
    "form.hl_ballot": {"en": "Ballots", "bn": "ব্যালট", "ne": "मतपत्र"},
    "form.hl_action_plan": {"en": "Action plans", "bn": "কর্মপরিকল্পনা", "ne": "कार्ययोजना"},
    "form.hl_followup": {"en": "Follow-ups", "bn": "ফলো-আপ", "ne": "अनुगमन"},
    "repeat.photos": {"en": "photos", "bn": "ছবি", "ne": "तस्बिर"},
    "repeat.plans": {"en": "plans", "bn": "পরিকল্পনা", "ne": "योजना"},
    "repeat.results": {"en": "results", "bn": "ফলাফল", "ne": "नतिजा"},
    "repeat.indicators": {"en": "indicators", "bn": "সূচক", "ne": "सूचक"},
    "sheet.ballot_results": {"en": "Ballot results", "bn": "ব্যালটের ফলাফল", "ne": "मतदानको नतिजा"},
    "sheet.plans_followups": {"en": "Action plans and follow-ups", "bn": "কর্মপরিকল্পনা ও ফলো-আপ",
                              "ne": "कार्ययोजना र अनुगमन"},
    "sheet.projects": {"en": "Innovation projects", "bn": "উদ্ভাবন প্রকল্প", "ne": "नवप्रवर्तन परियोजना"},
    # ---- Summary ----
    "summary.title": {"en": "Submissions", "bn": "জমাকৃত তথ্য", "ne": "पेश गरिएका फारामहरू"},
    "summary.area": {"en": "Upazila / local level", "bn": "উপজেলা / স্থানীয় সরকার", "ne": "उपजिल्ला / स्थानीय तह"},
    "summary.month": {"en": "Month", "bn": "মাস", "ne": "महिना"},
    "summary.form": {"en": "Form", "bn": "ফরম", "ne": "फाराम"},
    "summary.total": {"en": "Total", "bn": "মোট", "ne": "जम्मा"},
    "summary.period": {"en": "Period", "bn": "সময়কাল", "ne": "अवधि"},
    "summary.all_time": {"en": "all", "bn": "সব", "ne": "सबै"},
    "summary.all_areas": {"en": "All areas", "bn": "সকল এলাকা", "ne": "सबै क्षेत्र"},
    "summary.generated": {"en": "generated", "bn": "তৈরি", "ne": "तयार"},
    "summary.table": {"en": "Table", "bn": "সারণি", "ne": "तालिका"},
    "summary.sheets": {"en": "Sheets", "bn": "শিট", "ne": "पाना"},
    "summary.rows": {"en": "Rows", "bn": "সারি", "ne": "पङ्क्ति"},
    "summary.note": {"en": "Note", "bn": "টীকা", "ne": "टिप्पणी"},
    "summary.plans_overdue": {"en": "Action plans overdue for a follow-up on {day} (export date)",
                              "bn": "{day} (ওয়ার্কবুক তৈরির তারিখ) ফলো-আপ বকেয়া কর্মপরিকল্পনা",
                              "ne": "{day} (वर्कबुक तयार मिति) मा अनुगमनको म्याद नाघेका कार्ययोजना"},
    "summary.district": {"en": "District", "bn": "জেলা", "ne": "जिल्ला"},
    "summary.plans": {"en": "Action plans", "bn": "কর্মপরিকল্পনা", "ne": "कार्ययोजना"},
    "summary.split": {"en": "split: Excel holds at most 1,048,576 rows per sheet",
                      "bn": "ভাগ করা হয়েছে: এক্সেলের একটি শিটে সর্বোচ্চ ১০,৪৮,৫৭৬টি সারি ধরে",
                      "ne": "बाँडिएको: एक्सेलको एउटा पानामा बढीमा १०,४८,५७६ पङ्क्ति अटाउँछ"},
    # ---- Ballot results (sheet and workshop report) ----
    "ballot.upazila": {"en": "Upazila (workshop)", "bn": "উপজেলা (কর্মশালা)", "ne": "उपजिल्ला (कार्यशाला)"},
    "ballot.union": {"en": "Union / pourashava", "bn": "ইউনিয়ন / পৌরসভা", "ne": "युनियन / नगरपालिका"},
    "ballot.practice": {"en": "Good practice", "bn": "ভালো শিখন", "ne": "असल अभ्यास"},
    "ballot.indicators": {"en": "Indicators", "bn": "সূচকসমূহ", "ne": "सूचकहरू"},
    "ballot.votes": {"en": "Votes", "bn": "ভোট", "ne": "मत"},
    "ballot.rank": {"en": "Rank", "bn": "ক্রম", "ne": "स्थान"},
    "ballot.top_five": {"en": "Top five", "bn": "সেরা পাঁচ", "ne": "उत्कृष्ट पाँच"},
    "ballot.tied": {"en": "Tied", "bn": "সমান ভোট", "ne": "बराबर मत"},
    "ballot.first": {"en": "First preferences", "bn": "প্রথম পছন্দ", "ne": "पहिलो रोजाइ"},
    "ballot.ballots": {"en": "Ballots counted", "bn": "গণনাকৃত ব্যালট", "ne": "गणना गरिएका मतपत्र"},
    "ballot.ineligible": {"en": "Not eligible to vote", "bn": "ভোটের অযোগ্য", "ne": "मतदान गर्न अयोग्य"},
    "ballot.duplicates": {"en": "Duplicate voters", "bn": "একাধিকবার ভোট", "ne": "दोहोरो मतदाता"},
    "ballot.spoiled": {"en": "Spoiled (more than five picks)", "bn": "বাতিল (পাঁচটির বেশি)",
                       "ne": "बदर (पाँचभन्दा बढी)"},
    "ballot.unknown_pick": {"en": "Pick not nominated at this workshop",
                            "bn": "এই কর্মশালায় মনোনীত নয় এমন পছন্দ",
                            "ne": "यस कार्यशालामा मनोनीत नभएको रोजाइ"},
    "ballot.tie_cutoff": {"en": "Tie at fifth place", "bn": "পঞ্চম স্থানে সমান ভোট", "ne": "पाँचौं स्थानमा बराबरी"},
    # ---- Action plans and follow-ups ----
    "plan.participant": {"en": "Participant", "bn": "অংশগ্রহণকারী", "ne": "सहभागी"},
    "plan.position": {"en": "Position", "bn": "পদবি", "ne": "पद"},
    "plan.district": {"en": "District", "bn": "জেলা", "ne": "जिल्ला"},
    "plan.area": {"en": "Upazila / local level", "bn": "উপজেলা / স্থানীয় সরকার", "ne": "उपजिल्ला / स्थानीय तह"},
    "plan.union": {"en": "Union / pourashava", "bn": "ইউনিয়ন / পৌরসভা", "ne": "युनियन / नगरपालिका"},
    "plan.date_prepared": {"en": "Date prepared", "bn": "তৈরির তারিখ", "ne": "तयार मिति"},
    "plan.date_prepared_bs": {"en": "Date prepared (BS)", "bn": "তৈরির তারিখ (বি.স.)", "ne": "तयार मिति (वि.सं.)"},
    "plan.practices": {"en": "Planned practices", "bn": "পরিকল্পিত ভালো শিখন", "ne": "योजना गरिएका असल अभ्यास"},
    "plan.period_type": {"en": "Follow-up period type", "bn": "ফলো-আপের ধরন", "ne": "अनुगमनको प्रकार"},
    "plan.period": {"en": "Follow-up period", "bn": "ফলো-আপের সময়কাল", "ne": "अनुगमन अवधि"},
    "plan.followup_date": {"en": "Follow-up date", "bn": "ফলো-আপের তারিখ", "ne": "अनुगमन मिति"},
    "plan.followup_date_bs": {"en": "Follow-up date (BS)", "bn": "ফলো-আপের তারিখ (বি.স.)", "ne": "अनुगमन मिति (वि.सं.)"},
    "plan.officer": {"en": "Follow-up officer", "bn": "ফলো-আপ কর্মকর্তা", "ne": "अनुगमन अधिकृत"},
    "plan.linked_by": {"en": "Linked by", "bn": "সংযোগের ভিত্তি", "ne": "जोडिएको आधार"},
    "plan.results": {"en": "Results", "bn": "ফলাফল", "ne": "नतिजा"},
    "plan.plan_key": {"en": "Plan key", "bn": "পরিকল্পনার শনাক্তকারী", "ne": "योजनाको पहिचान"},
    "plan.followup_key": {"en": "Follow-up key", "bn": "ফলো-আপের শনাক্তকারী", "ne": "अनुगमनको पहिचान"},
    "plan.place": {"en": "Place", "bn": "স্থান", "ne": "स्थान"},
    "plan.schedule": {"en": "Follow-up schedule", "bn": "ফলো-আপের সময়সূচি", "ne": "अनुगमन तालिका"},
    "plan.plan_status": {"en": "Plan status on {day} (export date)",
                         "bn": "{day} (ওয়ার্কবুক তৈরির তারিখ) পরিকল্পনার অবস্থা",
                         "ne": "{day} (वर्कबुक तयार मिति) मा योजनाको स्थिति"},
    "plan.covers": {"en": "Period covered", "bn": "যে সময়কালের ফলো-আপ", "ne": "समेटिएको अवधि"},
    "plan.period_status": {"en": "Period status on {day}", "bn": "{day} তারিখে সময়কালের অবস্থা",
                           "ne": "{day} मा अवधिको स्थिति"},
    # a follow-up period's (and a plan's) status, as the follow-up tracker page says it
    "status.overdue": {"en": "Overdue", "bn": "বকেয়া", "ne": "म्याद नाघेको"},
    "status.due": {"en": "Due", "bn": "প্রাপ্য", "ne": "बाँकी"},
    "status.reported": {"en": "Reported", "bn": "প্রতিবেদিত", "ne": "प्रतिवेदित"},
    # ---- Innovation projects ----
    "project.code": {"en": "Code", "bn": "কোড", "ne": "कोड"},
    "project.title": {"en": "Project", "bn": "প্রকল্প", "ne": "परियोजना"},
    "project.district": {"en": "District", "bn": "জেলা", "ne": "जिल्ला"},
    "project.upazila": {"en": "Upazila", "bn": "উপজেলা", "ne": "उपजिल्ला"},
    "project.office": {"en": "Office", "bn": "দপ্তর", "ne": "कार्यालय"},
    "project.category": {"en": "Category", "bn": "ধরন", "ne": "प्रकार"},
    "project.started": {"en": "Started", "bn": "শুরু", "ne": "सुरु"},
    "project.inspections": {"en": "Inspections", "bn": "পরিদর্শন সংখ্যা", "ne": "निरीक्षण संख्या"},
    "project.last_inspected": {"en": "Last inspected", "bn": "সর্বশেষ পরিদর্শন", "ne": "पछिल्लो निरीक्षण"},
    "project.progress": {"en": "Progress (%)", "bn": "অগ্রগতি (%)", "ne": "प्रगति (%)"},
    "project.stage": {"en": "Stage", "bn": "পর্যায়", "ne": "चरण"},
    "project.recommendation": {"en": "Recommendation", "bn": "সুপারিশ", "ne": "सिफारिस"},
    "project.time_before": {"en": "Time before", "bn": "আগে সময়", "ne": "पहिले समय"},
    "project.time_after": {"en": "Time after", "bn": "পরে সময়", "ne": "पछि समय"},
    "project.cost_before": {"en": "Cost before", "bn": "আগে খরচ", "ne": "पहिले लागत"},
    "project.cost_after": {"en": "Cost after", "bn": "পরে খরচ", "ne": "पछि लागत"},
    "project.visits_before": {"en": "Visits before", "bn": "আগে যাতায়াত", "ne": "पहिले धाउनु पर्ने पटक"},
    "project.visits_after": {"en": "Visits after", "bn": "পরে যাতায়াত", "ne": "पछि धाउनु पर्ने पटक"},
    "project.in_period": {"en": "Inspections in period", "bn": "এই সময়ের পরিদর্শন", "ne": "यस अवधिका निरीक्षण"},
    "project.latest": {"en": "Latest inspection in period", "bn": "এই সময়ের সর্বশেষ পরিদর্শন",
                       "ne": "यस अवधिको पछिल्लो निरीक्षण"},
    "project.latest_state": {"en": "Its review state", "bn": "তার পর্যালোচনার অবস্থা",
                             "ne": "त्यसको समीक्षा अवस्था"},
    # ---- the workshop report ----
    "report.title": {"en": "Workshop report", "bn": "কর্মশালার প্রতিবেদন", "ne": "कार्यशाला प्रतिवेदन"},
    "report.workshop": {"en": "Horizontal learning workshop", "bn": "সমন্বিত শিখন কর্মশালা",
                        "ne": "समतलीय सिकाइ कार्यशाला"},
    "report.date": {"en": "Date", "bn": "তারিখ", "ne": "मिति"},
    "report.district": {"en": "District", "bn": "জেলা", "ne": "जिल्ला"},
    "report.upazila": {"en": "Upazila", "bn": "উপজেলা", "ne": "उपजिल्ला"},
    "report.nominated": {"en": "Nominated good practices", "bn": "মনোনীত ভালো শিখন",
                         "ne": "मनोनीत असल अभ्यास"},
    "report.results": {"en": "Ballot results", "bn": "ভোটের ফলাফল", "ne": "मतदानको नतिजा"},
    "report.top_five": {"en": "The five best good practices", "bn": "সেরা পাঁচটি ভালো শিখন",
                        "ne": "उत्कृष्ट पाँच असल अभ्यास"},
    "report.tie_note": {"en": "Tie at fifth place: the workshop decides between the tied practices.",
                        "bn": "পঞ্চম স্থানে সমান ভোট: সমান ভোট পাওয়া শিখনগুলোর মধ্যে কর্মশালা সিদ্ধান্ত নেবে।",
                        "ne": "पाँचौं स्थानमा बराबरी: बराबर मत पाएका अभ्यासबीच कार्यशालाले निर्णय गर्छ।"},
    "report.set_aside": {"en": "Ballots set aside", "bn": "বাদ দেওয়া ব্যালট", "ne": "अलग राखिएका मतपत्र"},
    "report.none_set_aside": {"en": "No ballot was set aside.", "bn": "কোনো ব্যালট বাদ দেওয়া হয়নি।",
                              "ne": "कुनै मतपत्र अलग राखिएन।"},
    "report.voter": {"en": "Voter", "bn": "ভোটার", "ne": "मतदाता"},
    "report.role": {"en": "Role", "bn": "পদ", "ne": "भूमिका"},
    "report.reason": {"en": "Reason", "bn": "কারণ", "ne": "कारण"},
    "report.plans": {"en": "Action plans made at the workshop", "bn": "কর্মশালায় তৈরি কর্মপরিকল্পনা",
                     "ne": "कार्यशालामा बनेका कार्ययोजना"},
    "report.no_plans": {"en": "No action plan was recorded for this workshop.",
                        "bn": "এই কর্মশালার কোনো কর্মপরিকল্পনা পাওয়া যায়নি।",
                        "ne": "यस कार्यशालाको कुनै कार्ययोजना भेटिएन।"},
    "report.no_nominations": {"en": "No good practice was nominated.",
                              "bn": "কোনো ভালো শিখন মনোনীত হয়নি।", "ne": "कुनै असल अभ्यास मनोनीत भएन।"},
    "report.generated": {"en": "Generated", "bn": "তৈরির সময়", "ne": "तयार गरिएको"},
    "report.signature": {"en": "Signature of the officer filing this report",
                         "bn": "প্রতিবেদন সংরক্ষণকারী কর্মকর্তার স্বাক্ষর",
                         "ne": "प्रतिवेदन राख्ने अधिकृतको हस्ताक्षर"},
    "report.reason_ineligible": {"en": "not an elected representative",
                                 "bn": "নির্বাচিত জনপ্রতিনিধি নন", "ne": "निर्वाचित जनप्रतिनिधि होइन"},
    "report.reason_duplicate": {"en": "second ballot of the same voter",
                                "bn": "একই ভোটারের দ্বিতীয় ব্যালট", "ne": "उही मतदाताको दोस्रो मतपत्र"},
    "report.reason_spoiled": {"en": "more than five picks", "bn": "পাঁচটির বেশি পছন্দ",
                              "ne": "पाँचभन्दा बढी रोजाइ"},
}

for _code in CATEGORIES:  # every registry category has its words
    assert f"category.{_code}" in WORDS, _code


def word(key: str, lang: str, fallback: str | None = None) -> str:
    """The word in ``lang``, else English; ``fallback`` (or the key) for an unknown key."""
    found = WORDS.get(key)
    if not found:
        return key if fallback is None else fallback
    return found.get(lang) or found["en"]


def has(key: str) -> bool:
    return key in WORDS


def group(prefix: str, lang: str) -> dict[str, str]:
    """Code → word for every key ``prefix.code``: ``group("state", "bn")["approved"]``."""
    start = f"{prefix}."
    return {key[len(start):]: value.get(lang) or value["en"]
            for key, value in WORDS.items() if key.startswith(start)}
