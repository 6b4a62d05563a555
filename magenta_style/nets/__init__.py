"""The architecture only, no weight loading: layers, the transfer network, the style predictors'
head, the combined Stylizer, and the VGG loss networks with their losses."""
