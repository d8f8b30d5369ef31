set terminal png size 1000,600
set output '/tmp/bench-new2/comm.png'
set title 'A→B: B checksums and replies — p50 latency by mode'
set xlabel 'payload (MB)'
set ylabel 'ms (log scale)'
set logscale y
set key top left
set grid
plot '/tmp/bench-new2/comm_plot.dat' using 1:2 with linespoints lw 2 title 'embedded', '/tmp/bench-new2/comm_plot.dat' using 1:3 with linespoints lw 2 title 'local', '/tmp/bench-new2/comm_plot.dat' using 1:4 with linespoints lw 2 title 'remote (loopback)', '/tmp/bench-new2/comm_plot.dat' using 1:5 with linespoints lw 2 title 'remote (netns veth)', '/tmp/bench-new2/comm_plot.dat' using 1:6 with linespoints lw 2 title 'redis (baseline)', '/tmp/bench-new2/comm_plot.dat' using 1:7 with linespoints dashtype 2 title 'memcpy into fresh pages'
