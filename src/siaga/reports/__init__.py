"""Reports: what a city needs to see of adoption and response, on screen and as CSV."""
