print("exchange-sim: not yet built")
