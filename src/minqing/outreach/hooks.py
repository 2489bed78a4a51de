"""Where other areas plug into outreach, set from their ``AppConfig.ready()``.

``case_form_url(need) -> str``: the case ledger's registration form, filled from a need raised
on a visit (household, region, text); while it is None the visit page offers no "立案". The
ledger calls ``services.need_link_case`` in the transaction that registers the case.
``case_url(case_number) -> str``: the page of a case, linked from the need.
``sms_sender(phone, text)``: sends a resident the confirmation code of a visit; while it is
None no code is sent and the visit page offers the signature only (the county's SMS gateway
is configured per site).
"""

case_form_url = None
case_url = None
sms_sender = None
