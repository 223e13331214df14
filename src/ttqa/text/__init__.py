"""Vietnamese text: NFC normalisation, tone and accent folding, the one tokenizer
(:mod:`.normalize`), and the legacy 8-bit encodings (:mod:`.legacy_encodings`)."""
