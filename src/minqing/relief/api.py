from ninja import Router

router = Router(tags=["救助与重建"])
