from ninja import Router

router = Router(tags=["走访"])
