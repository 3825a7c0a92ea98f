print("conduit-extract")
