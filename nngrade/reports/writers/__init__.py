"""Writers: every output format rendered from the canonical report dict (Report.to_dict()).

Each module is one format; its `to_*` functions are pure (report dicts in, data or text out), and
files.py holds the only code that touches the disk.

| module            | format                                                            |
|-------------------|-------------------------------------------------------------------|
| gradescope.py     | Gradescope's autograder results.json                              |
| lti.py            | an LTI 1.3 Assignment and Grade Services score                    |
| junit.py          | JUnit XML, for CI-style consumers                                 |
| gradebook.py      | a gradebook CSV that Canvas imports                               |
| summary.py        | the class summary (score distribution, failure rate per check)    |
| summary_html.py   | the class page: students, mistakes, quantities (one static page)  |
| student_html.py   | a student's feedback page, the terminal's view as HTML            |
"""
