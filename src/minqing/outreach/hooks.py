"""Where other areas plug into outreach, set from their ``AppConfig.ready()``.

``case_raiser(actor, need) -> case_number``: the case ledger opens a case for a need raised on
a visit and returns its number; while it is None the visit page offers no "立案" button.
``case_url(case_number) -> str``: the page of a case, linked from the need.
``sms_sender(phone, text)``: sends a resident the confirmation code of a visit; while it is
None the code is only written to the log (the county's SMS gateway is configured per site).
"""

case_raiser = None
case_url = None
sms_sender = None
