"""Supervision (第六条 统计、汇总上报、分析和监督预警; 第二十六条): statistics, town rankings, warnings, reports."""
