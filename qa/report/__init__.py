"""The output writers: workbook, JSON, findings CSV.

Limits of the workbook that its readers (carrying verdicts over, ``qa review``) share live
here, so that they need not import the writer.
"""

# Rows a detail sheet holds at most; beyond it the first row says so (Excel's own limit is
# 1,048,576 rows, but sheets this long are slow to open and to write).
MAX_DETAIL_ROWS = 200_000
