"""Consent you can prove (SPEC §12): each user's consent history and the
schedule of the result (Art. 50 ⑦) and two-year reminder (Art. 50 ⑧) notices."""
