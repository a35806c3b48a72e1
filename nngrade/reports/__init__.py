"""Reports and writers: results, the JSON report, the terminal table, the LMS formats and sending them."""
