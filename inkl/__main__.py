from inkl.cli import main

main()
