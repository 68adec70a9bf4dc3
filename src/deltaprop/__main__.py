from deltaprop.command.main import main

main(prog_name="deltaprop")
