print("snapsync: not yet built")
