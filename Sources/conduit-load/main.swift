print("conduit-load")
