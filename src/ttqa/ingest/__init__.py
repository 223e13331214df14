"""From files to articles to passages: decoding and formats (:mod:`.loader`), scraped-page cleaning
(:mod:`.cleaning`) and chunking with exact offsets (:mod:`.chunking`)."""
