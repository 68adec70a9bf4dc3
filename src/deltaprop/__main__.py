from deltaprop.command.launch import main

main(prog_name="deltaprop")
