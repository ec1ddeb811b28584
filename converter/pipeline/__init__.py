"""The conversion itself, room by room: a model's source -> (PIR translation) -> graph fixes (checked) -> each
variant through opt (full int8 quantized first) -> manifest; the zoo and a user's folders in batch."""
