from demo.federation import main

raise SystemExit(main())
