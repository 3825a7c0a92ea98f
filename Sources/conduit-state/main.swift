print("conduit-state")
