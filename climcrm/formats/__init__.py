"""Date and number formats of each language, as a company in Switzerland writes them
(``FORMAT_MODULE_PATH``): day before month in both languages, "05.12.2026" and
"1’663’979.50" in French, "05/12/2026" and "1,663,979.50" in English."""
