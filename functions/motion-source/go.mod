module github.com/edgewatch/edgewatch/functions/motion-source

go 1.26
