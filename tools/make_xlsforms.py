"""Write the five XLSForms in xlsforms/ and their static media in xlsforms/media/.

This script made the first version of each workbook. The .xlsx files are the sources from then
on: a designer edits them in Excel and raises the version (xlsforms/README.md). Run this again only
to regenerate them all from tools/xlsform_sources/ (it overwrites the workbooks):

    .venv/bin/python tools/make_xlsforms.py [--out xlsforms]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from xlsform_sources import (  # noqa: E402
    hl_action_plan,
    hl_ballot,
    hl_followup,
    hl_nomination,
    innovation_inspection,
    samples,
)
from xlsform_sources.common import write_form, write_geo_media  # noqa: E402

FORMS = (hl_action_plan, hl_followup, hl_nomination, hl_ballot, innovation_inspection)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "xlsforms")
    args = parser.parse_args(argv)
    for module in FORMS:
        survey, choices, settings = module.build()
        path = args.out / f"{module.FORM_ID}.xlsx"
        write_form(path, survey, choices, settings)
        print(f"{path}  ({len(survey)} survey rows, {sum(map(len, choices.values()))} choices)")
    write_geo_media(args.out / "media")
    samples.write_samples(args.out / "media")
    print(f"{args.out / 'media'}: " + ", ".join(sorted(p.name for p in (args.out / "media").glob("*.csv"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
