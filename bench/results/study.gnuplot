set terminal png size 1200,500
set output 'bench/results/study.png'
set multiplot layout 1,2
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set logscale y
set xtics rotate by -30
set title 'Artifact size (OCI image tarball)'
set ylabel 'KB (log scale)'
plot 'bench/results/study_plot.dat' using 2:xtic(1) title 'Wasm image', '' using 3 title 'static native image', '' using 4 title 'Debian-based image'
set title 'Warm call, p50 (serial, HTTP on loopback)'
set ylabel 'ms (log scale)'
plot 'bench/results/study_plot.dat' using 5:xtic(1) title 'native --listen', '' using 6 title 'cwasid (Wasm)'
unset multiplot
