from siaga.cli import main

main()
