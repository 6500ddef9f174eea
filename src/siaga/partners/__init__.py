"""Other centres Siaga works with (a city's 112 centre): alerts handed over and taken in as NENA EIDO incidents."""
